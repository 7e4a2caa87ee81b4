"""One value's fingerprint: its exact bytes' hash, dtype and shape, and small values kept.

Arrays and tensors hash their raw bytes in logical (C) order, so a permuted batch, a swapped
weight or a one-ulp change all show (torch's ``hash_tensor`` is an XOR reduction: blind to order).
NumPy and torch are never imported here: a value can only be one of theirs if they already are.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import blake3

from samerun._exceptions import UsageError

#: Values with at most this many elements are kept, so a comparison can say how much they differ.
KEEP = 64
DIGEST_BYTES = 16  # 128 bits: ample to tell states apart, half the size of a full hash
_SCALARS = (bool, int, float, str, type(None))
_KEPT_KINDS = "biuf"  # NumPy dtype kinds whose values are kept: bool, int, unsigned, float


@dataclass(frozen=True)
class Fingerprint:
    dtype: str  # "float32", "int64"…, or "int"/"float"/"bool"/"str"/"json" for Python values
    shape: tuple[int, ...]
    digest: str  # hex blake3 of the exact bytes
    values: tuple[Any, ...] | None = None  # the flattened values, when kept

    def describe(self) -> str:
        """``float32[32, 10]``, ``int``, ``tuple[2]``."""
        return f"{self.dtype}[{', '.join(map(str, self.shape))}]" if self.shape else self.dtype

    def same_as(self, other: Fingerprint) -> bool:
        return (self.dtype, self.shape, self.digest) == (other.dtype, other.shape, other.digest)


def fingerprint(value: Any, keep: int = KEEP) -> Fingerprint:
    """Fingerprint ``value``: a tensor, array, number, string, None, or a list/tuple/dict of them.

    Raises :class:`UsageError` for anything else (samerun never pickles to hash).
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _tensor(value, keep)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return _array(numpy.asarray(value), keep)
    if isinstance(value, _SCALARS):
        return _scalar(value, keep)
    if isinstance(value, (list, tuple)) and all(isinstance(v, _SCALARS) for v in value):
        data = json.dumps(list(value), separators=(",", ":"), ensure_ascii=False).encode()
        values = tuple(value) if len(value) <= keep else None
        return Fingerprint("json", (len(value),), _digest(data), values)
    if isinstance(value, Mapping):
        return _combine("dict", [(str(k), fingerprint(v, 0)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return _combine("tuple", [(str(i), fingerprint(v, 0)) for i, v in enumerate(value)])
    raise UsageError(
        f"cannot trace a {type(value).__name__}: trace arrays, tensors, numbers, strings, "
        "or lists, tuples and dicts of them"
    )


def _digest(data: Any) -> str:
    return str(blake3.blake3(data).hexdigest(length=DIGEST_BYTES))


def _scalar(value: bool | int | float | str | None, keep: int) -> Fingerprint:
    if value is None:
        return Fingerprint("none", (), _digest(b""))
    if isinstance(value, bool):
        data = b"\x01" if value else b"\x00"
    elif isinstance(value, int):
        data = str(value).encode()
    elif isinstance(value, float):
        data = struct.pack("<d", value)
    else:
        data = value.encode()
    kept = (value,) if keep and (not isinstance(value, str) or len(value) <= keep) else None
    return Fingerprint(type(value).__name__, (), _digest(data), kept)


def _array(array: Any, keep: int) -> Fingerprint:
    if array.dtype.hasobject:
        raise UsageError("cannot trace a NumPy array of Python objects; convert it to numbers")
    import numpy

    flat = numpy.ascontiguousarray(array.reshape(-1))
    values = None
    if flat.size <= keep and array.dtype.kind in _KEPT_KINDS:
        values = tuple(flat.tolist())
    return Fingerprint(str(array.dtype), tuple(array.shape), _digest(flat.view("u1")), values)


def _tensor(tensor: Any, keep: int) -> Fingerprint:
    # Every torch call costs microseconds of dispatch, so each is made only when needed.
    t = tensor.detach() if tensor.requires_grad else tensor
    if not t.is_cpu:
        t = t.cpu()
    if t.is_complex():
        t = t.resolve_conj().resolve_neg()
    if not t.is_contiguous():
        t = t.contiguous()
    values = None
    if t.numel() <= keep and not (t.is_complex() or t.is_quantized):
        values = tuple(t.reshape(-1).tolist())
    try:
        data = t.numpy().reshape(-1).view("u1")
    except TypeError:  # a dtype NumPy lacks (bfloat16, float8…): view the bytes in torch
        import torch

        data = t.reshape(-1).view(torch.uint8).numpy()
    dtype = str(t.dtype).removeprefix("torch.")
    return Fingerprint(dtype, tuple(t.shape), _digest(data), values)


def _combine(kind: str, items: list[tuple[str, Fingerprint]]) -> Fingerprint:
    """One fingerprint for a structure, from its items' keys, dtypes, shapes and digests."""
    hasher = blake3.blake3()
    for key, item in items:
        hasher.update(f"{key}\0{item.dtype}\0{item.shape}\0{item.digest}\n".encode())
    return Fingerprint(kind, (len(items),), str(hasher.hexdigest(length=DIGEST_BYTES)))
