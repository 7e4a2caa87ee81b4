from __future__ import annotations

import io
import json
import math

import pytest

from samerun.verify.comparators import (
    Tolerance,
    compare_npy,
    compare_series,
    compare_versions,
    shown,
)


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()


def test_identical_bytes_are_equivalent_without_parsing() -> None:
    assert compare_versions("x.bin", b"abc", b"abc", Tolerance()).equivalent


def test_json_numbers_within_tolerance_are_equivalent() -> None:
    a = dumps({"acc": 0.9, "loss": [1.0, 0.5], "name": "m"})
    b = dumps({"acc": 0.9 + 1e-12, "loss": [1.0, 0.5], "name": "m"})
    close = compare_versions("metrics.json", a, b, Tolerance(rtol=1e-9))
    assert close.equivalent
    assert 0 < close.max_abs < 1e-11
    far = compare_versions("metrics.json", a, b, Tolerance(rtol=0, atol=0))
    assert not far.equivalent
    assert "$.acc" in far.detail


def test_json_structure_and_strings_must_match_exactly() -> None:
    base = dumps({"a": 1, "b": "x"})
    assert "keys differ" in compare_versions("m.json", base, dumps({"a": 1}), Tolerance()).detail
    assert (
        "values differ at $.b"
        in compare_versions("m.json", base, dumps({"a": 1, "b": "y"}), Tolerance()).detail
    )


def test_csv_cells_compare_numerically() -> None:
    a = b"id,score\n1,0.5\n2,0.25\n"
    b = b"id,score\n1,0.5000001\n2,0.25\n"
    assert compare_versions("preds.csv", a, b, Tolerance(rtol=1e-5)).equivalent
    result = compare_versions("preds.csv", a, b, Tolerance(rtol=1e-9))
    assert not result.equivalent
    assert "row 2, column 2" in result.detail
    assert "row counts differ" in compare_versions("p.csv", a, b"id,score\n", Tolerance()).detail


def test_numpy_arrays_compare_with_largest_deviation() -> None:
    np = pytest.importorskip("numpy")

    def npy(array: object) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    a = np.array([1.0, 2.0, np.nan])
    b = np.array([1.0, 2.0 + 2e-9, np.nan])
    result = compare_versions("w.npy", npy(a), npy(b), Tolerance(rtol=1e-8))
    assert result.equivalent
    assert math.isclose(result.max_abs, 2e-9, rel_tol=1e-3)
    shape = compare_versions("w.npy", npy(a), npy(np.zeros(2)), Tolerance())
    assert not shape.equivalent
    assert "float64[3] vs float64[2]" in shape.detail


def test_npz_names_must_match() -> None:
    np = pytest.importorskip("numpy")

    def npz(**arrays: object) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    assert compare_versions(
        "a.npz", npz(w=np.ones(2)), npz(w=np.ones(2) * 1.0000000001), Tolerance()
    ).equivalent
    assert (
        "differ in name"
        in compare_versions("a.npz", npz(w=np.ones(2)), npz(v=np.ones(2)), Tolerance()).detail
    )


def test_pickles_are_never_loaded() -> None:
    import pickle

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (exec, ("raise SystemExit('unpickled!')",))

    evil = pickle.dumps(Boom())
    result = compare_versions("model.pkl", evil, evil + b"x", Tolerance())
    assert not result.equivalent
    assert "pickles are compared as bytes only" in result.detail


def test_unparseable_files_are_simply_different() -> None:
    result = compare_versions("m.json", b"{", b"[", Tolerance())
    assert not result.equivalent
    assert "cannot compare" in result.detail


def test_metric_series() -> None:
    a = ([0, 1, 2], [1.0, 0.5, math.nan])
    assert compare_series(a, ([0, 1, 2], [1.0, 0.5, math.nan]), Tolerance(rtol=0)).equivalent
    drift = compare_series(a, ([0, 1, 2], [1.0, 0.5000001, math.nan]), Tolerance(rtol=1e-9))
    assert not drift.equivalent
    assert "step 1" in drift.detail
    assert "steps differ" in compare_series(a, ([0, 1], [1.0, 0.5]), Tolerance()).detail


def test_numbers_are_shown_as_numbers_even_from_numpy() -> None:
    import numpy as np

    assert shown(np.float64(-3.5)) == "-3.5"
    assert shown(np.int64(7)) == "7"
    assert shown(0.25) == "0.25"
    assert shown("a") == "'a'"
    a = io.BytesIO()
    np.save(a, np.array([1.0, 2.0]))
    b = io.BytesIO()
    np.save(b, np.array([1.0, 2.5]))
    detail = compare_npy(a.getvalue(), b.getvalue(), Tolerance()).detail
    assert "np.float64" not in detail
    assert "2.0 vs 2.5" in detail


def test_a_comparator_failure_is_one_line_without_terminal_colours() -> None:
    closeness = compare_versions("broken.json", b"\x1b[31m{not json", b"{}", Tolerance())
    assert not closeness.equivalent
    assert "\n" not in closeness.detail
    assert closeness.detail.startswith("bytes differ; cannot compare as broken.json: ")


def test_a_whole_pickled_torch_model_is_compared_as_bytes_in_one_line() -> None:
    torch = pytest.importorskip("torch")
    a, b = io.BytesIO(), io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), a)
    torch.save(torch.nn.Linear(2, 3), b)
    closeness = compare_versions("model.pt", a.getvalue(), b.getvalue(), Tolerance())
    assert closeness.detail == "not a weights-only checkpoint: compared as bytes"


def test_a_nested_checkpoint_compares_every_tensor_by_its_path_and_not_its_other_entries() -> None:
    torch = pytest.importorskip("torch")

    def checkpoint(bias: float, saved_in: str) -> bytes:
        layer = torch.nn.Linear(2, 1)
        with torch.no_grad():
            layer.weight.fill_(0.5)
            layer.bias.fill_(bias)
        data = io.BytesIO()
        state = {"state_dict": layer.state_dict(), "optimizer_states": [{"step": torch.ones(1)}]}
        torch.save({**state, "dirpath": saved_in, "epoch": 1}, data)
        return data.getvalue()

    here, elsewhere = checkpoint(0.25, "/original"), checkpoint(0.25, "/replay")
    assert compare_versions("epoch=1.ckpt", here, elsewhere, Tolerance()).equivalent
    moved = compare_versions("epoch=1.ckpt", here, checkpoint(0.5, "/original"), Tolerance())
    assert not moved.equivalent
    assert "state_dict.bias[0]: 0.25 vs 0.5" in moved.detail
