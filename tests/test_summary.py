from __future__ import annotations

import math

from samerun.summary import MetricSummary, VerificationRecord


def test_a_metric_summary_round_trips_with_nan() -> None:
    summary = MetricSummary(math.nan, 9, 10, 0.1, 1.0, "blake3:s")
    back = MetricSummary.from_dict(summary.to_dict())
    assert math.isnan(back.last)
    assert (back.step, back.count, back.min, back.max, back.series) == (9, 10, 0.1, 1.0, "blake3:s")


def test_a_verification_names_its_causes_and_keeps_the_reports_shape() -> None:
    report = {"verdict": "diverged", "causes": ["params", "environment"]}
    record = VerificationRecord("b" * 32, "diverged", 1_790_000_000.0, report)
    assert record.causes == ["params", "environment"]
    assert record.to_dict() == {
        "replay": "b" * 32,
        "verdict": "diverged",
        "at": 1_790_000_000.0,
        "details": report,
    }
    assert VerificationRecord(None, "not-replayable", 0.0, {}).causes == []
