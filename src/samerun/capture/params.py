"""Params: a config file (YAML or JSON, flattened to ``a.b.c`` keys) plus typed overrides."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from samerun._exceptions import ConfigError, UsageError

_KEY = re.compile(r"^[A-Za-z_][\w\-]*(\.[\w\-]+)*$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.I)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"lr": 0.1}}`` → ``{"model.lr": 0.1}``; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def load_config(path: Path) -> tuple[dict[str, Any], bytes]:
    """The flattened params of a YAML or JSON config file, and the file's bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a file") from None
    except OSError as err:
        raise ConfigError(str(path), err.strerror or str(err)) from None
    text = raw.decode("utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(str(path), f"invalid JSON at line {err.lineno}: {err.msg}") from None
    else:
        import yaml  # start-up: only a YAML config needs it

        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(
                str(path), f"invalid YAML{where}: {getattr(err, 'problem', err)}"
            ) from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            str(path), f"expected a mapping of keys to values, found {type(loaded).__name__}"
        )
    return check_params(flatten(loaded), str(path)), raw


def parse_value(text: str) -> Any:
    """Type an override's value: int, float, bool, null, or else a string (quotes stripped)."""
    stripped = text.strip()
    lowered = stripped.lower()
    if _INT.match(stripped):
        return int(stripped)
    if _FLOAT.match(stripped):
        return float(stripped)
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    return text


def parse_override(text: str) -> tuple[str, Any]:
    """``"model.lr=0.05"`` → ``("model.lr", 0.05)``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise UsageError(f"bad param {text!r}: expected KEY=VALUE, e.g. -p model.lr=0.05")
    return key, parse_value(value)


def check_params(params: Mapping[str, Any], origin: str = "params") -> dict[str, Any]:
    """Params must be JSON values under string keys; non-finite floats are kept as floats."""
    checked: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise UsageError(f"{origin}: param names must be non-empty strings, got {key!r}")
        checked[key] = _json_value(value, f"{origin}: {key}")
    return checked


def _json_value(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v, where) for k, v in value.items()}
    item = getattr(value, "item", None)  # NumPy / torch scalars
    if callable(item):
        return _json_value(item(), where)
    text = getattr(value, "isoformat", None)  # dates from YAML
    if callable(text):
        return str(text())
    raise UsageError(
        f"{where}: {type(value).__name__} is not a JSON value (number, string, bool, list, map)"
    )


def merge_params(*layers: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return dict(sorted(merged.items()))


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    return dict(parse_override(item) for item in items)
