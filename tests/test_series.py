from __future__ import annotations

import math

import pytest

from samerun.series import decode_series, encode_series, series_view


def test_a_series_round_trips_through_its_bytes_exactly() -> None:
    steps, values = [0, 1, 5, 2**40], [0.1, -0.0, math.inf, 1e-300]
    assert decode_series(encode_series(steps, values)) == (steps, values)
    as_views = series_view(encode_series(steps, values))
    assert (as_views[0].tolist(), as_views[1].tolist()) == (steps, values)
    assert decode_series(encode_series([], [])) == ([], [])
    nan_steps, nan_values = decode_series(encode_series([0], [math.nan]))
    assert nan_steps == [0]
    assert math.isnan(nan_values[0])


@pytest.mark.parametrize("data", [b"pickle", encode_series([1, 2], [1.0, 2.0])[:-3]])
def test_bytes_that_are_not_a_whole_series_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="samerun metric series"):
        decode_series(data)
