"""The provenance card: what a reader of MODEL_CARD.md sees."""

from __future__ import annotations

from collections.abc import Callable

from samerun.registry import Registry


def test_the_card_names_files_run_params_metrics_and_verification(
    record: Callable[..., str], registry: Registry
) -> None:
    run = record(0.25)
    registry.register("churn", run, description="churn | holdout", tags={"team": "growth"})
    registry.set_alias("churn", "production", 1)
    card = registry.card("churn@production")
    assert card.startswith("# churn v1\n")
    assert "churn \\| holdout" not in card  # the description is prose, kept as written
    assert "churn | holdout" in card
    assert "- aliases: production" in card
    assert "- tag team: growth" in card
    assert "| model.pkl | file |" in card
    assert f"- run `{run}`" in card
    assert "| lr | 0.25 |" in card
    assert "| accuracy | 0.9 |" in card
    assert "Never verified" in card
