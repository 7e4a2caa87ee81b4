"""``samerun lineage …``: which models saw a record, what a model came from, what read a dataset,
and erasure requests (:mod:`samerun.lineage`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from samerun.cli import render

if TYPE_CHECKING:
    from samerun.lineage.graph import RecordLineage
    from samerun.lineage.records import RecordKey
    from samerun.store.project import Store


def _print(text: str) -> None:
    render.console().print(text, highlight=False, soft_wrap=True)


def _short(oid: str | None) -> str:
    return "-" if oid is None else f"{oid[:19]}…"


@click.group()
def lineage() -> None:
    """Lineage for audits: from a record's key to the models trained on it, and back.

    Index a dataset's records first: `samerun data add PATH --record-key COLUMN`.

    \b
    Example:
      samerun lineage record customer_id=48213
    """


def _digest(store: Store, text: str) -> tuple[RecordKey, str]:
    from samerun.lineage.records import RecordKey, key_hash, project_secret

    key = RecordKey.parse(text)
    return key, key_hash(project_secret(store.project.store_dir, create=False), key.value)


@lineage.command("record")
@click.argument("key_value", metavar="KEY=VALUE")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as JSON.")
def record(key_value: str, as_json: bool) -> None:
    """Every dataset version holding a record, the runs that read it (directly or through derived
    data), the model versions registered from them, the aliases on those now, and the verdict on
    each production model.

    \b
    Example:
      samerun lineage record customer_id=48213 --json
    """
    from samerun.cli.store import open_project_store
    from samerun.lineage.erasure import requests_for
    from samerun.lineage.graph import record_lineage

    store = open_project_store()
    try:
        _, digest = _digest(store, key_value)
        found = record_lineage(store.meta, digest)
        requests = requests_for(store.meta, digest)
    finally:
        store.close()
    if as_json:
        render.print_json(
            {
                **asdict(found),
                "production": [{**asdict(p), "sentence": p.sentence} for p in found.production],
                "erasure_requests": [asdict(r) for r in requests],
            }
        )
        return
    _show_record(found)
    for request in requests:
        _print(f"erasure requested {render.when(request.at)} by {request.actor}: {request.reason}")


def _show_record(found: RecordLineage) -> None:
    from samerun.lineage.graph import HOLDING

    if not any(v.state in HOLDING for v in found.versions):
        _print("no indexed dataset version holds this record")
    for v in found.versions:
        if v.state == "contains":
            files = ", ".join(f"{rows} in {path}" for path, rows in v.files.items())
            where = f" ({files})" if files else ""
            _print(f"[bold]contains[/] {v.dataset} @ {_short(v.oid)}: {v.rows} row(s){where}")
        elif v.state == "may contain":
            _print(
                f"[yellow]may contain[/] {v.dataset} @ {_short(v.oid)}: derived from "
                f"{_short(v.upstream)}, which holds the record (no record index of its own)"
            )
        elif v.state == "not indexed":
            _print(f"[dim]not indexed[/] {v.dataset} @ {_short(v.oid)}: added without --record-key")
        else:
            _print(f"[green]clean[/] {v.dataset} @ {_short(v.oid)}")
    for run_id in found.runs:
        _print(f"run {run_id} read it")
    for m in found.models:
        _print(f"model {m.model}:{m.version} (run {m.run_id}) was trained on it")
    for a in found.aliases:
        _print(f"alias {a.model}@{a.alias} points at v{a.version} since {render.when(a.since)}")
    for verdict in found.production:
        _print(verdict.sentence)


@lineage.command("model")
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--json", "as_json", is_flag=True, help="Print the upstream as JSON.")
def model(ref: str, as_json: bool) -> None:
    """Upstream of a model version: its run, the data it read (and the runs that produced derived
    data), the code and the environment.

    \b
    Example:
      samerun lineage model churn:3
    """
    from samerun.cli.store import open_project_store
    from samerun.lineage.graph import model_upstream
    from samerun.registry.registry import Registry

    store = open_project_store()
    try:
        version = Registry(store).resolve(ref)
        up = model_upstream(store.meta, version)
    finally:
        store.close()
    code, env = up.manifest.inputs.code, up.manifest.inputs.environment
    if as_json:
        render.print_json(
            {
                "model": version.model,
                "version": version.version,
                "run": version.run_id,
                "data": [asdict(d) for d in up.data],
                "code": {"commit": code.commit, "dirty": code.dirty, "patch": code.patch},
                "environment": {"python": env.python, "packages_hash": env.packages_hash},
            }
        )
        return
    _print(f"{version.model}:{version.version} ← run {version.run_id}")
    for d in up.data:
        made_by = f" ← run {d.producer_run}" if d.producer_run else ""
        _print(f"  data {d.path} @ {_short(d.oid)}{made_by}")
    _print(f"  code {render.commit_label(code.commit, code.dirty)}")
    _print(f"  environment Python {env.python}, packages {_short(env.packages_hash)}")


@lineage.command("dataset")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print the downstream as JSON.")
def dataset(path: str, as_json: bool) -> None:
    """Downstream of each recorded version of a dataset: the runs and model versions that read it.

    \b
    Example:
      samerun lineage dataset data/customers.csv
    """
    from samerun.cli.store import open_project_store
    from samerun.lineage.graph import dataset_downstream
    from samerun.paths import project_relative

    store = open_project_store()
    try:
        rel = project_relative(store.project.root, path.removesuffix(".samerun"))
        uses = dataset_downstream(store.meta, rel)
    finally:
        store.close()
    if as_json:
        render.print_json([asdict(use) for use in uses])
        return
    if not uses:
        _print(f"no version of {rel} was added with `samerun data add`")
    for use in uses:
        v = use.version
        indexed = f", indexed by {v.key_column}" if v.key_column else ""
        _print(f"{v.dataset} @ {_short(v.oid)} added {render.when(v.added_at)}{indexed}")
        for run_id in use.runs:
            _print(f"  run {run_id}")
        for m in use.models:
            _print(f"  model {m.model}:{m.version}")


@lineage.command("erase")
@click.argument("key_value", metavar="KEY=VALUE")
@click.option("--reason", required=True, help="Why: the request's reference, for the record.")
@click.option("--json", "as_json", is_flag=True, help="Print the request and plan as JSON.")
def erase(key_value: str, reason: str, as_json: bool) -> None:
    """Record an erasure request (who, when, why and the record's keyed hash, never the value) on
    the audit trail, and list the dataset versions to clean and the models to retrain.

    \b
    Example:
      samerun lineage erase customer_id=48213 --reason "GDPR art. 17 request 2026-118"
    """
    from samerun.cli.store import open_project_store
    from samerun.lineage.erasure import request_erasure
    from samerun.registry.registry import current_user

    store = open_project_store()
    try:
        _, digest = _digest(store, key_value)
        plan = request_erasure(store.meta, digest, reason=reason, actor=current_user())
    finally:
        store.close()
    if as_json:
        render.print_json(
            {
                "request": asdict(plan.request),
                "to_clean": plan.to_clean,
                "to_retrain": plan.to_retrain,
            }
        )
        return
    _print(f"recorded erasure request {plan.request.id} on the audit trail")
    for target in plan.to_clean:
        _print(f"  clean   {target}")
    for target in plan.to_retrain:
        _print(f"  retrain {target}")
    if not plan.to_clean and not plan.to_retrain:
        _print("  nothing holds the record: nothing to clean or retrain")
