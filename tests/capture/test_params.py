from __future__ import annotations

import math
from pathlib import Path

import pytest

from samerun._exceptions import ConfigError, UsageError
from samerun.capture.params import (
    check_params,
    flatten,
    load_config,
    merge_params,
    parse_override,
    parse_value,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-7", -7),
        ("0.05", 0.05),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("true", True),
        ("False", False),
        ("null", None),
        ("none", None),
        ("adam", "adam"),
        ("'42'", "42"),
        ('"a b"', "a b"),
        ("yes", "yes"),
        ("", ""),
    ],
)
def test_override_values_are_typed(text: str, expected: object) -> None:
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_nan_and_inf_overrides_are_floats() -> None:
    assert math.isnan(parse_value("nan"))
    assert parse_value("-inf") == float("-inf")


def test_override_splits_on_first_equals() -> None:
    assert parse_override("model.name=a=b") == ("model.name", "a=b")


@pytest.mark.parametrize("bad", ["lr", "=3", "model..lr=1", "1abc=2", " =x"])
def test_bad_override_syntax_is_one_clear_error(bad: str) -> None:
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        parse_override(bad)


def test_flatten_nests_with_dots_and_keeps_lists() -> None:
    tree = {"model": {"lr": 0.1, "layers": [1, 2], "opt": {"name": "sgd"}}, "empty": {}}
    assert flatten(tree) == {
        "model.lr": 0.1,
        "model.layers": [1, 2],
        "model.opt.name": "sgd",
        "empty": {},
    }


def test_yaml_and_json_configs_give_the_same_params(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("model:\n  lr: 0.1\nepochs: 3\n")
    (tmp_path / "c.json").write_text('{"model": {"lr": 0.1}, "epochs": 3}')
    from_yaml, raw = load_config(tmp_path / "c.yaml")
    from_json, _ = load_config(tmp_path / "c.json")
    assert from_yaml == from_json == {"model.lr": 0.1, "epochs": 3}
    assert raw == (tmp_path / "c.yaml").read_bytes()


def test_empty_config_has_no_params(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("")
    assert load_config(tmp_path / "c.yaml")[0] == {}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.yaml", "a: [1, 2\n", "invalid YAML at line"),
        ("c.json", "{nope}", "invalid JSON at line 1"),
        ("c.yaml", "- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_malformed_configs_name_the_file(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")


def test_params_must_be_json_values() -> None:
    assert check_params({"when": __import__("datetime").date(2024, 1, 2)}) == {"when": "2024-01-02"}
    assert check_params({"x": float("inf")}) == {"x": "inf"}
    with pytest.raises(UsageError, match="not a JSON value"):
        check_params({"model": object()})


def test_later_layers_override_earlier_ones() -> None:
    assert merge_params({"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 3}
