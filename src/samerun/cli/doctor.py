"""``samerun doctor``: hazards in the code and the project's reproducibility level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from samerun.cli import render

if TYPE_CHECKING:
    from samerun.doctor.model import Report

_MARK = {True: "[green]✓[/]", False: "[red]✗[/]"}


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--select",
    multiple=True,
    metavar="RULES",
    help="Report only these rules: ids or prefixes, comma-separated (repeatable).",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="RULES",
    help="Do not report these rules: ids or prefixes (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--sarif",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Also write the findings as SARIF 2.1.0 to FILE (- for stdout).",
)
@click.option(
    "--fail-under",
    type=click.IntRange(0, 4),
    metavar="LEVEL",
    help="Exit with status 1 when the level is below LEVEL (0-4).",
)
@click.option(
    "--fail-on",
    multiple=True,
    metavar="RULES",
    help="Exit with status 1 when a finding matches these ids or prefixes (ALL: any).",
)
@click.option("--rules", "list_rules", is_flag=True, help="List the rules and exit.")
@click.option("--explain", metavar="RULE", help="Explain a rule: why, the fix, examples.")
def doctor(
    path: Path,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    as_json: bool,
    sarif: Path | None,
    fail_under: int | None,
    fail_on: tuple[str, ...],
    list_rules: bool,
    explain: str | None,
) -> int:
    """Find nondeterminism hazards in PATH (default: .) and score its reproducibility, 0-4.

    Findings name a rule, a file and line, why it matters and the fix; silence one with
    `# samerun: ignore[RULE]` on its line. The level comes with its evidence (git, pinned
    environment, versioned data, seeds, recorded and verified runs, CI) and the next steps.

    \b
    Example:
      samerun doctor
      samerun doctor src --ignore ORD --fail-under 2 --sarif doctor.sarif
    """
    from samerun._exceptions import UsageError
    from samerun.doctor import diagnose

    if list_rules or explain:
        _rules(explain, as_json)
        return 0
    if as_json and sarif == Path("-"):
        raise UsageError("--json and --sarif - both write to stdout; give --sarif a file name")
    report = diagnose(path, select=select, ignore=ignore)
    if sarif is not None:
        _write_sarif(report, sarif)
    if as_json:
        render.print_json(report.to_dict())
    elif sarif != Path("-"):
        _render(report)
    return _exit_status(report, fail_under, fail_on)


def _exit_status(report: Report, fail_under: int | None, fail_on: tuple[str, ...]) -> int:
    from samerun.doctor.registry import selector

    failing = selector(fail_on) if fail_on else None
    err = render.error_console()
    status = 0
    if fail_under is not None and report.level < fail_under:
        err.print(f"samerun: level {report.level} is below {fail_under}", highlight=False)
        status = 1
    hits = [f for f in report.findings if failing is not None and failing(f.rule)]
    if hits:
        err.print(f"samerun: {len(hits)} findings match --fail-on", highlight=False)
        status = 1
    return status


def _write_sarif(report: Report, target: Path) -> None:
    from samerun._atomic import atomic_write
    from samerun.doctor.sarif import to_sarif

    text = json.dumps(to_sarif(report), indent=2) + "\n"
    if target == Path("-"):
        click.echo(text, nl=False)
    else:
        atomic_write(target, text.encode())
        render.error_console().print(f"wrote {target}", highlight=False)


def _rules(explain: str | None, as_json: bool) -> None:
    from samerun._exceptions import UsageError
    from samerun.doctor.registry import rules

    registry = rules()
    chosen = list(registry.values())
    if explain:
        key = explain.strip().upper()
        if key not in registry:
            raise UsageError(f"no rule {explain!r}; `samerun doctor --rules` lists them")
        chosen = [registry[key]]
    docs = [
        {
            "id": r.id,
            "name": r.name,
            "title": r.title,
            "why": r.why,
            "fix": r.fix,
            "bad": r.bad,
            "good": r.good,
        }
        for r in chosen
    ]
    if as_json:
        render.print_json(docs)
        return
    out = render.console()
    if not explain:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for column in ("id", "name", "title"):
            table.add_column(column, style="bold" if column == "id" else None)
        for doc in docs:
            table.add_row(doc["id"], doc["name"], doc["title"])
        out.print(table)
        return
    from rich.syntax import Syntax

    doc = docs[0]
    out.print(f"[bold]{doc['id']}[/] {doc['name']}: {doc['title']}\n", highlight=False)
    out.print(f"{doc['why']}\n\n[bold]Fix:[/] {doc['fix']}\n", highlight=False)
    for label, code in (("Reported", doc["bad"]), ("Fixed", doc["good"])):
        out.print(f"[bold]{label}:[/]")
        out.print(Syntax(code, "python", theme="ansi_dark", background_color="default"))


def _render(report: Report) -> None:
    from samerun.doctor.levels import LEVELS
    from samerun.doctor.registry import rules

    out = render.console()
    out.print(
        f"[bold]samerun doctor[/] {report.root}: {report.files} files analysed"
        + (f", {len(report.skipped)} skipped" if report.skipped else ""),
        highlight=False,
    )
    registry = rules()
    if report.findings:
        out.print(f"\n[bold]{len(report.findings)} findings[/]")
        for f in report.findings:
            out.print(f"  [cyan]{f.where}[/] [bold yellow]{f.rule}[/] {f.message}", highlight=False)
        out.print()
        for rule_id in sorted({f.rule for f in report.findings}):
            rule = registry[rule_id]
            out.print(f"  [bold yellow]{rule_id}[/] {rule.title}.", highlight=False)
            out.print(f"    [dim]{rule.why}[/]\n    fix: {rule.fix}", highlight=False)
    else:
        out.print("\n[green]no nondeterminism hazard found[/]")
    out.print(f"\n[bold]level {report.level} of 4[/]: {LEVELS[report.level]}", highlight=False)
    for e in report.evidence:
        scope = f"L{e.level}" if e.level else "  "
        out.print(f"  {_MARK[e.holds]} [dim]{scope}[/] {e.title}: {e.detail}", highlight=False)
    if report.next_steps:
        out.print(f"\n[bold]next steps to level {report.level + 1}[/]")
        for number, step in enumerate(report.next_steps, 1):
            out.print(f"  {number}. {step}", highlight=False)
    if report.skipped:
        out.print("\n[bold]skipped[/]")
        for s in report.skipped:
            out.print(f"  [dim]{s.path}: {s.reason}[/]", highlight=False)
