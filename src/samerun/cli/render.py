"""Rendering for the terminal (Rich) and for machines (JSON)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from samerun.manifest import Manifest
    from samerun.store.meta import RunRow
    from samerun.summary import VerificationRecord

VERDICT_MARK = {
    "identical": "[green]✓ same[/]",
    "equivalent": "[green]≈ close[/]",
    "diverged": "[red]✗ diff[/]",
    "not-replayable": "[yellow]? n/a[/]",
}
STATUS_STYLE = {"running": "cyan", "finished": "green", "failed": "red", "killed": "magenta"}


@cache
def console() -> Console:
    from rich.console import Console

    return Console()


@cache
def error_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


class _RichHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        error_console().print(f"[yellow]{record.getMessage()}[/]", highlight=False, soft_wrap=True)


def setup_logging() -> None:
    logger = logging.getLogger("samerun")
    if not logger.handlers:
        logger.addHandler(_RichHandler())
        logger.propagate = False


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def print_json_rows(rows: list[Any]) -> None:
    """A JSON array with one row per line: ``json``'s C encoder writes each row, where indenting
    goes through its pure-Python encoder, 10 times slower (10,000 runs: 1.3 s against 0.1 s)."""
    encode = json.JSONEncoder(sort_keys=True, default=str).encode
    lines = ",\n".join(f"  {encode(row)}" for row in rows)
    sys.stdout.write(f"[\n{lines}\n]\n" if rows else "[]\n")


def when(timestamp: float | None, short: bool = False) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def number(value: float) -> str:
    return f"{value:.6g}"


def status(text: str) -> str:
    return f"[{STATUS_STYLE.get(text, 'white')}]{text}[/]"


def commit_label(commit: str | None, dirty: bool | None) -> str:
    label = commit[:8] if commit else "-"
    return f"{label}[yellow]+dirty[/]" if dirty else label


#: The runs table's columns that give way on a narrow terminal, first to go first. ``id``,
#: ``name``, ``status`` and ``seed`` always stay; no kept column is ever cut to a wrong value.
DROPPED_FIRST = ("duration", "started", "metrics", "verified", "commit")
#: The narrowest a name (ellipsized) or the metrics list may get before a column is dropped.
NAME_MIN, METRICS_MIN = 8, 16


def runs_table(
    rows: list[RunRow],
    total: int,
    key_metrics: int = 2,
    *,
    focus: list[str] | None = None,
    filtered: bool = False,
    next_page: str | None = None,
    wide: bool = False,
) -> None:
    """The runs as a table that fits the terminal (unless ``wide``).

    Ids, seeds, commits, times and verdicts are shown whole or not at all: when the table does
    not fit, names and the metrics list are ellipsized, then whole columns are left out in the
    order of :data:`DROPPED_FIRST`, and a note says which. ``focus`` names metrics to show
    first (those a listing is sorted or filtered by).
    """
    from rich.table import Table
    from rich.text import Text

    out = console()
    if not rows:
        if filtered:
            out.print("no runs match the filter")
        else:
            out.print("no runs yet: record one with `samerun record -- python train.py`")
        return
    focus = focus or []

    def shown_metrics(summary: dict[str, float]) -> str:
        keys = [k for k in focus if k in summary]
        keys += [k for k in summary if k not in keys][: max(0, key_metrics - len(keys))]
        return "  ".join(f"{k}={summary[k]:.4g}" for k in keys)

    cells = {
        "id": [row.id[:8] for row in rows],
        "name": [row.name or "" for row in rows],
        "status": [status(row.status) for row in rows],
        "verified": [VERDICT_MARK.get(row.verdict or "", "-") for row in rows],
        "started": [when(row.started_at, short=True) for row in rows],
        "duration": [duration(row.duration_s) for row in rows],
        "seed": ["-" if row.seed is None else str(row.seed) for row in rows],
        "commit": [commit_label(row.commit_sha, row.dirty) for row in rows],
        "metrics": [shown_metrics(row.summary) for row in rows],
    }
    natural = {
        column: max([len(column), *(Text.from_markup(c).cell_len for c in values)])
        for column, values in cells.items()
    }
    shown = list(cells)
    flexible = {"name": NAME_MIN, "metrics": METRICS_MIN}

    def needed(columns: list[str]) -> int:
        widths = [min(natural[c], flexible[c]) if c in flexible else natural[c] for c in columns]
        return sum(widths) + 2 * (len(columns) - 1)

    hidden = []
    for column in DROPPED_FIRST:
        if wide or needed(shown) <= out.width:
            break
        shown.remove(column)
        hidden.append(column)
    spare = out.width - needed(shown)
    widths = {c: natural[c] for c in shown}
    if not wide:  # what is left goes to a name of up to 24, then the metrics, then the name
        for column in shown:
            if column in flexible:
                widths[column] = min(natural[column], flexible[column])
        for column, cap in (("name", 24), ("metrics", None), ("name", None)):
            if column in shown:
                room = natural[column] if cap is None else min(natural[column], cap)
                grown = max(0, min(spare, room - widths[column]))
                widths[column] += grown
                spare -= grown
    table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
    for column in shown:
        cut = column in flexible  # only names and metric lists are ever ellipsized
        table.add_column(
            column, no_wrap=True, overflow="ellipsis" if cut else "fold", width=widths[column]
        )
    for index in range(len(rows)):
        table.add_row(*(cells[column][index] for column in shown))
    if wide:  # as wide as it needs: the terminal wraps (or a pager scrolls) the long lines
        from rich.console import Console

        full = sum(widths.values()) + 2 * (len(shown) - 1)
        Console(
            width=max(full, out.width),
            file=out.file,
            force_terminal=out.is_terminal,
            color_system=out.color_system,  # type: ignore[arg-type]
        ).print(table)
    else:
        out.print(table)
    if hidden:
        out.print(
            f"[dim]{', '.join(hidden)} left out to fit {out.width} columns (--wide shows all)[/]",
            highlight=False,
        )
    matching = "matching runs" if filtered else "runs"
    if next_page is not None:
        out.print(
            f"[dim]showing {len(rows)} of {total} {matching}; next page: --page {next_page}[/]",
            highlight=False,
            soft_wrap=True,
        )
    elif total > len(rows):
        out.print(f"[dim]showing {len(rows)} of {total} {matching}[/]", highlight=False)


def _section(title: str, pairs: list[tuple[str, Any]]) -> None:
    from rich.table import Table

    out = console()
    out.print(f"\n[bold]{title}[/]")
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, "-" if value is None or value == "" else short_hashes(str(value)))
    out.print(table)


#: A content address: an algorithm, a colon, and a long hex digest.
_HASH = re.compile(r"\b(blake3|sha256|git):([0-9a-f]{12})[0-9a-f]{8,}\b")


def short_hashes(text: str) -> str:
    """``text`` with each content address cut to 12 hex digits and marked (``blake3:0a1b…``),
    so it never wraps mid-hash on a terminal; ``--json`` keeps them whole."""
    return _HASH.sub(r"\1:\2…", text)


def show_manifest(manifest: Manifest, verifications: list[VerificationRecord]) -> None:
    from rich.table import Table

    out = console()
    inputs = manifest.inputs
    code, env, rnd = inputs.code, inputs.environment, inputs.randomness
    out.print(
        f"[bold]run {manifest.id}[/]  {manifest.name or ''}  {status(manifest.status)}",
        highlight=False,
    )
    _section(
        "Run",
        [
            ("started", when(manifest.started_at)),
            ("ended", when(manifest.ended_at)),
            (
                "duration",
                duration(
                    None if manifest.ended_at is None else manifest.ended_at - manifest.started_at
                ),
            ),
            ("exit code", manifest.exit_code),
            ("signal", manifest.signal),
            ("error", manifest.error),
        ],
    )
    if manifest.imported is not None:
        imported = manifest.imported
        _section(
            "Imported",
            [
                ("from", f"{imported.source} run {imported.ref}"),
                ("unknown", ", ".join(imported.unknown) + " (never recorded there)"),
            ],
        )
    _section(
        "Code",
        [
            ("vcs", code.vcs),
            ("commit", commit_label(code.commit, code.dirty)),
            ("branch", code.branch),
            ("remote", code.remote),
            ("tree", code.tree),
            ("patch", f"{code.patch} ({code.patch_size} bytes)" if code.patch else None),
            *(("left out", item) for item in code.left_out),
        ],
    )
    _section(
        "Command",
        [
            ("argv", " ".join(inputs.command.argv)),
            ("cwd", inputs.command.cwd),
            ("interpreter", inputs.command.interpreter),
        ],
    )
    _section(
        "Data",
        [
            (
                d.path,
                f"{d.read or '(not in the workspace)'}  {d.kind}, {d.files} files, {d.size:,} bytes"
                + (
                    f"  (pointer {d.pointer} names {d.version})"
                    if d.pointer and d.version != d.read
                    else ""
                ),
            )
            for d in inputs.data
        ]
        or [("(none)", "")],
    )
    config = inputs.config
    params = [(k, json.dumps(v)) for k, v in inputs.params.items()]
    if config:
        params.insert(0, ("(config)", f"{config.path}  {config.hash}"))
    _section("Params", params or [("(none)", "")])
    _section(
        "Environment",
        [
            ("python", f"{env.python} ({env.implementation})"),
            ("platform", " ".join(filter(None, (env.system, env.machine, env.libc)))),
            (
                "packages",
                f"{len(env.packages)} installed, {env.packages_hash} "
                f"(samerun env show {manifest.id[:8]}: each with its origin)",
            ),
            # PYTHONHASHSEED is shown under Randomness, where it belongs.
            *sorted((k, v) for k, v in inputs.env_vars.items() if k != "PYTHONHASHSEED"),
        ],
    )
    _section(
        "Randomness",
        [
            ("seed", f"{rnd.seed} ({rnd.seed_source})"),
            ("PYTHONHASHSEED", rnd.python_hash_seed),
            (
                "seeded",
                ", ".join(rnd.seeded)
                or "not observed (samerun sees samerun.seed_everything, not a script's own "
                "seed calls)",
            ),
        ],
    )
    host = manifest.host
    _section(
        "Host",
        [
            ("hostname", host.get("hostname")),
            ("os", host.get("os")),
            ("cpu", f"{host.get('cpu')} x{host.get('cpu_count')}"),
            ("memory", f"{(host.get('memory_bytes') or 0) / 2**30:.1f} GiB"),
            *((f"gpu {i}", g.get("name")) for i, g in enumerate(host.get("gpus", []))),
            *(
                (name, json.dumps(facts))
                for name, facts in host.items()
                if name in ("torch", "numpy")
            ),
        ],
    )
    metrics = manifest.outputs.metrics
    out.print("\n[bold]Metrics[/]")
    if metrics:
        table = Table(box=None, header_style="dim", pad_edge=False, padding=(0, 2, 0, 2))
        for column in ("key", "last", "step", "count", "min", "max"):
            table.add_column(column, justify="left" if column == "key" else "right")
        for key, m in metrics.items():
            table.add_row(
                key, number(m.last), str(m.step), str(m.count), number(m.min), number(m.max)
            )
        out.print(table)
    else:
        out.print("  (none)")
    out.print("\n[bold]Artifacts[/]")
    if manifest.outputs.artifacts:
        table = Table(box=None, header_style="dim", pad_edge=False, padding=(0, 2, 0, 2))
        for column in ("path", "kind", "size", "object"):
            table.add_column(column)
        for a in manifest.outputs.artifacts:
            kind = f"dir ({a.files} files)" if a.kind == "dir" else a.kind
            table.add_row(a.path, kind, f"{a.size:,}", a.oid)
        out.print(table)
    else:
        out.print("  (none)")
    _section(
        "Fingerprints",
        [("inputs", manifest.input_fingerprint), ("outputs", manifest.output_fingerprint)],
    )
    if manifest.replay_of:
        _section("Replay", [("replay of", manifest.replay_of)])
    _section(
        "Verification",
        [
            (
                when(v.at),
                v.verdict + (f" (replay {v.replay[:8]})" if v.replay else ""),
            )
            for v in verifications
        ]
        or [("never verified", "run `samerun verify` to replay it")],
    )
    if manifest.warnings:
        out.print("\n[bold]Warnings[/]")
        for warning in manifest.warnings:
            out.print(f"  [yellow]{warning}[/]", highlight=False)
