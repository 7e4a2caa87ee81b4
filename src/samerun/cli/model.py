"""``samerun model``: register versions, move aliases, read their history, roll back, fetch
files, write provenance cards and watch what an alias points at. Each command calls the
registry (:mod:`samerun.registry`) once and renders what it returns."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from samerun._exceptions import UsageError
from samerun.cli import render

if TYPE_CHECKING:
    from samerun.registry import Registry
    from samerun.registry.model import Watch

_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@contextmanager
def _registry() -> Iterator[Registry]:
    from samerun.cli.store import open_project_store
    from samerun.registry import Registry

    store = open_project_store()
    try:
        yield Registry(store)
    finally:
        store.close()


def _moment(text: str) -> float:
    """An ISO 8601 date or time (local time unless it names a zone) as a Unix time."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(
            f"--at {text!r} is not an ISO date or time, e.g. 2026-11-20T12:00"
        ) from None


def _print(text: str) -> None:
    render.console().print(text, highlight=False, soft_wrap=True, markup=False)


@click.group()
def model() -> None:
    """Model registry: immutable versions, aliases with their whole history, checked rollback.

    \b
    Example:
      samerun model register churn --run last --artifact model.pkl
      samerun model alias churn production 1 --reason "beats the baseline"
      samerun model get churn@production
    """


@model.command()
@click.argument("name")
@click.option("--run", "run", required=True, help="The finished run (id, prefix or `last`).")
@click.option(
    "--artifact",
    "artifacts",
    multiple=True,
    metavar="PATH",
    help="A file the run wrote (repeatable; default: all of them).",
)
@click.option("--description", "-d", default="", help="What this version is.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
@_JSON
def register(
    name: str,
    run: str,
    artifacts: tuple[str, ...],
    description: str,
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """Register the next version of model NAME from a finished run's artifacts.

    \b
    Example:
      samerun model register churn --run 1a2b --artifact model.pkl -d "holdout AUC 0.91"
    """
    parsed = {}
    for tag in tags:
        key, eq, value = tag.partition("=")
        if not eq or not key:
            raise UsageError(f"--tag {tag!r} is not KEY=VALUE")
        parsed[key] = value
    with _registry() as registry:
        version = registry.register(name, run, artifacts, description=description, tags=parsed)
    if as_json:
        render.print_json(version.to_dict())
    else:
        _print(f"registered {version.label} from run {version.run_id[:8]}")


@model.command("list")
@_JSON
def list_models(as_json: bool) -> None:
    """List the models, their version counts and aliases.

    \b
    Example:
      samerun model list --json
    """
    with _registry() as registry:
        models = registry.models()
    if as_json:
        render.print_json([m.to_dict() for m in models])
        return
    if not models:
        _print("no models yet; `samerun model register NAME --run RUN` makes one")
    for m in models:
        aliases = ", ".join(f"{a}→v{v}" for a, v in m.aliases.items()) or "no aliases"
        _print(f"{m.name}  {m.versions} version(s)  {aliases}")


@model.command()
@click.argument("ref")
@_JSON
def show(ref: str, as_json: bool) -> None:
    """Show a version (NAME, NAME:VERSION or NAME@ALIAS): files, run, data, metrics, verdicts.

    \b
    Example:
      samerun model show churn@production
    """
    with _registry() as registry:
        version = registry.resolve(ref)
        run = registry.run_of(version)
        aliases = registry.aliases(version.model)
    pointing = sorted(a for a, v in aliases.items() if v == version.version)
    if as_json:
        render.print_json(
            {
                **version.to_dict(),
                "aliases": pointing,
                "run": run.info.to_dict(),
                "data": [d.to_dict() for d in run.manifest.inputs.data],
                "environment": {
                    "python": run.manifest.inputs.environment.python,
                    "packages_hash": run.manifest.inputs.environment.packages_hash,
                },
                "verifications": [v.to_dict() for v in run.verifications],
            }
        )
        return
    _print(f"{version.label}  (aliases: {', '.join(pointing) or 'none'})")
    if version.description:
        _print(f"  {version.description}")
    _print(
        f"  run {run.id[:8]} {run.status}, registered {render.when(version.created_at)}"
        f" by {version.created_by}"
    )
    for f in version.files:
        _print(f"  file {f.path}  {f.size} bytes  {f.oid}")
    for d in run.manifest.inputs.data:
        _print(f"  data {d.path}  {d.version or d.oid}")
    env = run.manifest.inputs.environment
    _print(f"  environment {env.implementation} {env.python}, {len(env.packages)} packages")
    for key, m in sorted(run.metrics.items()):
        _print(f"  metric {key} = {m.last:g}")
    last = run.verifications[-1] if run.verifications else None
    _print(f"  verified: {last.verdict} ({render.when(last.at)})" if last else "  never verified")


@model.command()
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
@click.option("--reason", "-r", default="", help="Why the alias moves (kept in its history).")
@_JSON
def alias(name: str, alias: str, version: int, reason: str, as_json: bool) -> None:
    """Point ALIAS of model NAME at VERSION; the move is appended to the alias history.

    \b
    Example:
      samerun model alias churn production 3 --reason "beats v2 on holdout"
    """
    with _registry() as registry:
        event = registry.set_alias(name, alias, version, reason=reason)
    if as_json:
        render.print_json(event.to_dict())
    else:
        before = "nothing" if event.from_version is None else f"v{event.from_version}"
        _print(f"{name}@{alias}: {before} → v{event.to_version}")


@model.command()
@click.argument("name")
@click.option("--alias", "alias", help="Only this alias's moves.")
@click.option("--at", "at", metavar="TIME", help="As of this ISO time (2026-11-20T12:00).")
@click.option("--check", is_flag=True, help="Re-walk the hash chain; exit 1 if tampered.")
@_JSON
def history(name: str, alias: str | None, at: str | None, check: bool, as_json: bool) -> int:
    """Every alias move of model NAME: who, when, from, to, why; or, with --check, whether
    the hash-chained history is intact.

    \b
    Example:
      samerun model history churn --alias production --at 2026-11-20T12:00
      samerun model history churn --check
    """
    with _registry() as registry:
        if check:
            result = registry.check_history(name)
        else:
            found = registry.history(name, alias=alias, at=None if at is None else _moment(at))
    if check:
        if as_json:
            render.print_json(result.to_dict())
        elif result.intact:
            _print(f"{name}: the history of {result.events} event(s) is intact")
        else:
            for problem in result.problems:
                render.error_console().print(f"tampered: {problem}", highlight=False, markup=False)
        return 0 if result.intact else 1
    if as_json:
        render.print_json(found.to_dict())
        return 0
    for e in found.events:
        before = "-" if e.from_version is None else f"v{e.from_version}"
        reason = f"  {e.reason}" if e.reason else ""
        _print(
            f"{e.seq:>4}  {render.when(e.at)}  {e.actor}  {e.kind:<8} {e.alias}: "
            f"{before} → v{e.to_version}{reason}"
        )
    state = ", ".join(f"{a}→v{v}" for a, v in found.aliases.items()) or "none"
    _print(f"{'at ' + at if at else 'now'}: {state}")
    return 0


@model.command()
@click.argument("name")
@click.option("--alias", "alias", required=True, help="The alias to move back.")
@click.option("--to", "to", type=int, help="A version that held the alias before.")
@click.option("--steps", type=int, default=1, show_default=True, help="Holders to go back.")
@click.option("--verify", is_flag=True, help="Require the target's run to reproduce.")
@click.option("--reason", "-r", default="", help="Why (kept in the alias history).")
@_JSON
def rollback(
    name: str, alias: str, to: int | None, steps: int, verify: bool, reason: str, as_json: bool
) -> None:
    """Move ALIAS of model NAME back to an earlier holder, after re-hashing its files (and with
    --verify, checking that its run reproduces). Refused, with why, otherwise.

    \b
    Example:
      samerun model rollback churn --alias production --verify
    """
    err = render.error_console()
    with _registry() as registry:
        done = registry.rollback(
            name,
            alias,
            to=to,
            steps=steps,
            verify=verify,
            reason=reason,
            on_event=lambda m: err.print(f"samerun: {m}", highlight=False, markup=False),
        )
    if as_json:
        render.print_json(done.to_dict())
    else:
        checked = f"{done.files_checked} file(s) checked"
        verdict = f", run {done.verdict}" if done.verdict else ""
        _print(
            f"{name}@{alias}: v{done.event.from_version} → v{done.target.version}"
            f" ({checked}{verdict})"
        )


@model.command()
@click.argument("ref")
@click.option("--output", "-o", "dest", type=click.Path(path_type=Path), help="Put them here.")
@_JSON
def get(ref: str, dest: Path | None, as_json: bool) -> None:
    """Materialize the files of REF, checked by hash, and print their paths (one a line).

    \b
    Example:
      samerun model get churn@production -o deploy/
    """
    with _registry() as registry:
        placed = registry.get(ref, dest)
    if as_json:
        render.print_json(placed.to_dict())
    else:
        for path in placed.paths:
            _print(str(path))


@model.command()
@click.argument("ref")
@click.option("--output", "-o", "dest", type=click.Path(path_type=Path), help="Write it here.")
@_JSON
def card(ref: str, dest: Path | None, as_json: bool) -> None:
    """Write the Markdown provenance card of REF: files, run, params, data, metrics, verdicts.

    \b
    Example:
      samerun model card churn:3 -o MODEL_CARD.md
    """
    with _registry() as registry:
        text = registry.card(ref)
    if dest is not None:
        dest.write_text(text)
    if as_json:
        render.print_json({"ref": ref, "card": text, "path": None if dest is None else str(dest)})
    elif dest is None:
        _print(text)
    else:
        _print(f"wrote {dest}")


_EVERY = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The environment variable holding the secret ``watch --webhook`` signs with.
WEBHOOK_SECRET_ENV = "SAMERUN_WEBHOOK_SECRET"


def _interval(text: str) -> float:
    """``30m``, ``6h``, ``1d`` as seconds."""
    found = _EVERY.fullmatch(text.strip())
    if found is None or int(found[1]) == 0:
        raise UsageError(f"--every {text!r}: a duration such as 30m, 6h or 1d")
    return int(found[1]) * _UNIT_S[found[2]]


@model.command()
@click.argument("ref")
@click.option(
    "--every",
    metavar="DURATION",
    help="Keep watching: re-verify every DURATION (30m, 6h, 1d) until stopped (or --count).",
)
@click.option(
    "--count", type=click.IntRange(min=1), help="With --every: stop after this many checks."
)
@click.option(
    "--webhook",
    "webhooks",
    metavar="URL",
    multiple=True,
    help=f"POST each verdict change to URL, signed with ${WEBHOOK_SECRET_ENV} "
    "(X-Samerun-Signature: sha256=HMAC of the body, as the team server's webhooks).",
)
@_JSON
def watch(
    ref: str,
    every: str | None,
    count: int | None,
    webhooks: tuple[str, ...],
    as_json: bool,
) -> int:
    """Re-verify what REF points at now and report whether its verdict changed. Exits 0
    (identical or equivalent), 1 (diverged) or 2 (not replayable): run it from cron or CI,
    or let it keep watching with --every.

    \b
    Example:
      samerun model watch churn@production
      samerun model watch churn@production --every 1d --webhook https://ci.example.com/hook
    """
    from samerun.server.webhooks import Notifier, Webhook  # start-up: only watching posts

    interval = None if every is None else _interval(every)
    secret = os.environ.get(WEBHOOK_SECRET_ENV, "")
    if webhooks and len(secret) < 16:
        raise UsageError(f"--webhook signs with ${WEBHOOK_SECRET_ENV}: set it (16+ characters)")
    notifier = Notifier([Webhook(url, secret) for url in webhooks])
    err = render.error_console()
    checks = 0
    try:
        while True:
            with _registry() as registry:
                result = registry.watch(
                    ref,
                    on_event=lambda m: err.print(f"samerun: {m}", highlight=False, markup=False),
                )
            checks += 1
            _report(ref, result, as_json)
            if result.changed:
                notifier.notify("verdict.changed", {**result.to_dict(), "at": time.time()})
            if interval is None or (count is not None and checks >= count):
                return result.exit_code
            time.sleep(interval)
    finally:
        notifier.close()


def _report(ref: str, result: Watch, as_json: bool) -> None:
    if as_json:
        render.print_json(result.to_dict())
        return
    change = (
        f" (changed: was {result.previous})"
        if result.changed
        else ""
        if result.previous is None
        else " (unchanged)"
    )
    _print(f"{ref} = {result.version.label}: {result.verdict}{change}")
    for cause in result.causes:
        _print(f"  - {cause}")
