"""Canonical JSON and blake3 content hashes, tagged with their algorithm (``blake3:<hex>``)."""

from __future__ import annotations

import math
import os
from typing import Any

import blake3

ALGORITHM = "blake3"
_CHUNK = 1 << 20
_MMAP_THRESHOLD = 8 << 20
_FD_CHUNK = 4 << 20  # fits the CPU caches: 16 MiB chunks hash 1.8x slower


def _normalize(value: Any) -> Any:
    """Make ``value`` JSON-representable with a single spelling for non-finite floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf': JSON has no literal for them
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, floats as ``repr``: the bytes that get hashed."""
    import json  # on first use: ``data status`` hashes no JSON

    return json.dumps(
        _normalize(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def tag(hex_digest: str) -> str:
    return f"{ALGORITHM}:{hex_digest}"


def hash_bytes(data: bytes) -> str:
    return tag(blake3.blake3(data).hexdigest())


def hash_json(value: Any) -> str:
    return hash_bytes(canonical_json(value))


def hash_file(path: str | os.PathLike[str]) -> str:
    """Hash a file by streaming it; large files are memory-mapped and hashed on all cores."""
    size = os.stat(path).st_size
    if size >= _MMAP_THRESHOLD:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(os.fspath(path))
        return tag(hasher.hexdigest())
    hasher = blake3.blake3()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return tag(hasher.hexdigest())


def hash_fd(fd: int) -> str:
    """Hash an open file from its start (its offset is left alone), on all cores when large."""
    threads = blake3.blake3.AUTO if os.fstat(fd).st_size >= _MMAP_THRESHOLD else 1
    hasher = blake3.blake3(max_threads=threads)
    offset = 0
    while chunk := os.pread(fd, _FD_CHUNK, offset):
        hasher.update(chunk)
        offset += len(chunk)
    return tag(hasher.hexdigest())


def split_oid(oid: str) -> tuple[str, str]:
    """``blake3:abcd…`` → ``("blake3", "abcd…")``; raises ValueError on anything else."""
    algorithm, sep, digest = oid.partition(":")
    if not sep or algorithm != ALGORITHM or len(digest) != 64 or not _is_hex(digest):
        raise ValueError(f"not a samerun object id: {oid!r}")
    return algorithm, digest


_HEX = frozenset("0123456789abcdef")


def _is_hex(text: str) -> bool:
    return _HEX.issuperset(text)
