from __future__ import annotations

from pathlib import Path

import blake3
import pytest

from samerun.hashing import canonical_json, hash_bytes, hash_file, hash_json, split_oid


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()


def test_canonical_json_spells_non_finite_floats_once() -> None:
    assert canonical_json([float("nan"), float("inf")]) == b'["nan","inf"]'


def test_equal_values_hash_equal_whatever_the_key_order() -> None:
    assert hash_json({"a": 1, "b": 2}) == hash_json({"b": 2, "a": 1})


@pytest.mark.parametrize("size", [0, 10, (8 << 20) + 3])
def test_file_hash_matches_blake3_of_the_bytes(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == hash_bytes(data) == "blake3:" + blake3.blake3(data).hexdigest()


def test_object_ids_are_validated() -> None:
    oid = hash_bytes(b"x")
    assert split_oid(oid) == ("blake3", oid.split(":")[1])
    for bad in ("sha1:abc", "blake3:xyz", "blake3:" + "0" * 63, "nope"):
        with pytest.raises(ValueError, match="not a samerun object id"):
            split_oid(bad)
