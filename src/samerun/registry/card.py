"""A version's provenance card, in Markdown: what it is, where it came from, whether it still
reproduces. A pure function of the records, so the same card renders anywhere."""

from __future__ import annotations

import json
import shlex
import time

from samerun.api import RecordedRun
from samerun.registry.model import ModelVersion


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _cell(value: object) -> str:
    """A table cell: JSON for anything but text, with the table's separator escaped."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(_cell(v) for v in row)} |" for row in rows]
    return [*lines, ""]


def render_card(version: ModelVersion, run: RecordedRun, aliases: list[str]) -> str:
    """The card of ``version``, made by ``run``, which ``aliases`` point at now."""
    inputs = run.manifest.inputs
    code, env = inputs.code, inputs.environment
    lines = [f"# {version.label}", ""]
    if version.description:
        lines += [version.description, ""]
    lines += [
        f"- registered {_when(version.created_at)} by {version.created_by}",
        f"- aliases: {', '.join(aliases) or 'none'}",
    ]
    lines += [f"- tag {key}: {value}" for key, value in sorted(version.tags.items())]
    lines += ["", "## Files", ""]
    lines += _table(
        ("path", "kind", "size", "object"),
        [(f.path, f.kind, f.size, f.oid) for f in version.files],
    )
    commit = code.commit or "none"
    lines += [
        "## Run",
        "",
        f"- run `{run.id}`{f' ({run.name})' if run.name else ''}, {run.status}",
        f"- command `{shlex.join(inputs.command.argv)}`",
        f"- code: {code.vcs} commit `{commit}`{' with uncommitted changes' if code.dirty else ''}",
        f"- seed {inputs.randomness.seed} ({inputs.randomness.seed_source})",
        f"- environment: {env.implementation} {env.python} on {env.system} {env.machine},"
        f" {len(env.packages)} packages (`{env.packages_hash}`)",
        "",
    ]
    if inputs.params:
        lines += ["## Params", ""]
        lines += _table(("param", "value"), sorted(inputs.params.items()))
    if inputs.data:
        lines += ["## Data", ""]
        lines += _table(
            ("path", "version", "files", "size"),
            [(d.path, d.version or d.oid or "-", d.files, d.size) for d in inputs.data],
        )
    if run.metrics:
        lines += ["## Metrics", ""]
        lines += _table(
            ("metric", "last", "min", "max"),
            [(k, m.last, m.min, m.max) for k, m in sorted(run.metrics.items())],
        )
    lines += ["## Verification", ""]
    if run.verifications:
        lines += _table(
            ("when", "verdict", "causes"),
            [(_when(v.at), v.verdict, "; ".join(v.causes) or "-") for v in run.verifications],
        )
    else:
        lines += [f"Never verified: `samerun verify {run.id[:8]}` replays it.", ""]
    return "\n".join(lines)
