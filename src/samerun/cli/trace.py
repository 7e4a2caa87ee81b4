"""``samerun trace diff``: the first step and value where two runs' traces part."""

from __future__ import annotations

import click

from samerun.cli import render

SHOWN = 10  # values listed in the spread summary


@click.group()
def trace() -> None:
    """Compare the traces runs recorded with samerun.trace() and samerun.torch.trace_model().

    \b
    Example:
      samerun trace diff 1a2b3c last
    """


@trace.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff(run_a: str, run_b: str, as_json: bool) -> None:
    """Find the first step where the traces of RUN_A and RUN_B part, and what differs there.

    At that step it names the first value or module (in execution order) that differs, with
    the size of the difference when the values were kept, then sums up how the divergence
    spread. RUN is a full id, a unique id prefix, or `last`.

    \b
    Example:
      samerun trace diff 1a2b3c last --json
    """
    from samerun.cli.store import open_project_store
    from samerun.tracing.compare import first_divergence, spread
    from samerun.tracing.stored import read_trace

    store = open_project_store()
    try:
        id_a, id_b = store.meta.resolve(run_a).id, store.meta.resolve(run_b).id
        a, b = read_trace(store, id_a), read_trace(store, id_b)
    finally:
        store.close()
    divergence = first_divergence(a, b)
    summary = spread(a, b)
    if as_json:
        render.print_json(
            {
                "runs": [id_a, id_b],
                "identical": divergence is None,
                "first_divergence": None if divergence is None else divergence.to_dict(),
                "spread": summary.to_dict(),
            }
        )
        return
    out = render.console()
    names = f"{id_a[:8]} and {id_b[:8]}"
    if divergence is None:
        out.print(
            f"[green]traces of {names} are identical[/]: {len(a.steps)} steps, {a.entries} values",
            highlight=False,
        )
        return
    out.print(f"traces of {names} first part at [bold]step {divergence.step}[/]:", highlight=False)
    out.print(f"  [red]{divergence.describe()}[/]", highlight=False)
    out.print(
        f"then: {summary.steps_differing} of {summary.steps_compared} steps both traced differ",
        highlight=False,
    )
    for side, count in (("first", summary.only_expected), ("second", summary.only_actual)):
        if count:
            out.print(f"  {count} steps only in the {side} run", highlight=False)
    for label, step in summary.first_differs[:SHOWN]:
        out.print(f"  {label}  [dim]from step {step}[/]", highlight=False)
    if len(summary.first_differs) > SHOWN:
        out.print(f"  [dim]and {len(summary.first_differs) - SHOWN} more[/]", highlight=False)
