from __future__ import annotations

import math

import numpy as np
import pytest

from samerun._exceptions import UsageError
from samerun.tracing.fingerprint import KEEP, fingerprint


def test_order_of_elements_changes_the_fingerprint() -> None:
    batch = np.arange(8)
    assert fingerprint(batch) == fingerprint(batch.copy())
    assert not fingerprint(batch).same_as(fingerprint(batch[::-1]))


def test_dtype_and_shape_are_part_of_it() -> None:
    a = np.zeros(4, dtype=np.float32)
    assert not fingerprint(a).same_as(fingerprint(a.view(np.int32)))  # same bytes
    assert not fingerprint(a).same_as(fingerprint(a.reshape(2, 2)))  # same bytes
    assert fingerprint(a.reshape(2, 2)).describe() == "float32[2, 2]"


def test_memory_layout_does_not_matter_only_logical_order() -> None:
    c = np.arange(12.0).reshape(3, 4)
    assert fingerprint(np.asfortranarray(c)).same_as(fingerprint(c))
    assert fingerprint(c[:, ::2]).same_as(fingerprint(np.ascontiguousarray(c[:, ::2])))


def test_a_one_ulp_change_shows() -> None:
    a = np.ones(100)
    b = a.copy()
    b[50] = np.nextafter(1.0, 2.0)
    assert not fingerprint(a).same_as(fingerprint(b))


def test_python_scalars_are_exact_and_typed() -> None:
    prints = [fingerprint(v) for v in (1, 1.0, True, "1", None)]
    assert len({(p.dtype, p.digest) for p in prints}) == len(prints)
    assert fingerprint(0.1 + 0.2).values == (0.30000000000000004,)
    assert math.isnan(fingerprint(float("nan")).values[0])  # type: ignore[index]
    assert fingerprint(float("nan")).same_as(fingerprint(float("nan")))


def test_small_values_are_kept_large_ones_are_not() -> None:
    assert fingerprint(list(range(KEEP))).values == tuple(range(KEEP))
    assert fingerprint(list(range(KEEP + 1))).values is None
    assert fingerprint(np.arange(3, dtype=np.int64)).values == (0, 1, 2)
    assert fingerprint(np.arange(3), keep=0).values is None
    assert fingerprint(np.array(["a", "b"])).values is None  # only numbers are kept


def test_structures_combine_their_items() -> None:
    a = (np.zeros(2), {"h": np.ones(3)})
    b = (np.zeros(2), {"h": np.ones(3) * 2})
    assert fingerprint(a).dtype == "tuple"
    assert fingerprint(a).same_as(fingerprint((np.zeros(2), {"h": np.ones(3)})))
    assert not fingerprint(a).same_as(fingerprint(b))


def test_tensors_and_arrays_with_the_same_content_match() -> None:
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert fingerprint(t).same_as(fingerprint(t.numpy()))
    assert fingerprint(t.t()).same_as(fingerprint(t.t().contiguous()))
    assert not fingerprint(t).same_as(fingerprint(t.flip(0)))
    assert fingerprint(torch.tensor(1.5, dtype=torch.bfloat16)).values == (1.5,)
    grad = torch.ones(2, requires_grad=True) * 2
    assert fingerprint(grad).values == (2.0, 2.0)


def test_torch_hash_tensor_cannot_see_order_but_a_fingerprint_can() -> None:
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "hash_tensor"):
        pytest.skip("this torch has no hash_tensor")
    t = torch.arange(8, dtype=torch.int64)
    assert torch.hash_tensor(t) == torch.hash_tensor(t.flip(0))
    assert not fingerprint(t).same_as(fingerprint(t.flip(0)))


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1, 2}])
def test_what_cannot_be_hashed_exactly_is_refused(value: object) -> None:
    with pytest.raises(UsageError, match="cannot trace"):
        fingerprint(value)
