"""The team server's configuration file: what ``samerun server`` and its admin commands read
when ``--config FILE`` (or ``SAMERUN_SERVER_CONFIG``) names one.

```yaml
metadata: postgresql+psycopg://samerun@db/samerun
objects: s3://team-bucket/samerun
host: 0.0.0.0
port: 5005
workers: 4
secure_cookies: true
webhooks:                      # told of every alias move (samerun.server.webhooks)
  - url: https://ci.example.com/samerun
    secret: a-long-random-string
```

Every key is optional; an option on the command line, then its environment variable, wins over
the file. A metadata URL holding a password makes the file a secret: keep it readable by the
server's user only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import yaml

from samerun._exceptions import ConfigError
from samerun.server.webhooks import Webhook


class ServerConfig(NamedTuple):
    metadata: str | None = None
    objects: str | None = None
    host: str | None = None
    port: int | None = None
    workers: int | None = None
    secure_cookies: bool | None = None
    webhooks: tuple[Webhook, ...] = ()

    def given(self) -> dict[str, Any]:
        """The command-line options the file set, with their values."""
        options = {k: v for k, v in self._asdict().items() if k in _KINDS and k != "webhooks"}
        return {key: value for key, value in options.items() if value is not None}


_KINDS: dict[str, type] = {
    "metadata": str,
    "objects": str,
    "host": str,
    "port": int,
    "workers": int,
    "secure_cookies": bool,
    "webhooks": list,
}
_SAID = {str: "text", int: "an integer", bool: "true or false", list: "a list"}


def load_server_config(path: Path) -> ServerConfig:
    """The configuration in ``path``, checked: an unknown key or a value of the wrong kind is
    a :class:`ConfigError` naming the file and the key."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(str(path), f"cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"not valid YAML ({err.__class__.__name__})") from None
    if loaded is None:
        return ServerConfig()
    if not isinstance(loaded, dict):
        raise ConfigError(str(path), f"expected a mapping of {', '.join(_KINDS)}")
    for key, value in loaded.items():
        kind = _KINDS.get(str(key))
        if kind is None:
            raise ConfigError(str(path), f"unknown key {key!r}; use {', '.join(_KINDS)}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(str(path), f"{key}: {value!r} is not {_SAID[kind]}")
    hooks = tuple(_webhook(path, found) for found in loaded.pop("webhooks", []))
    return ServerConfig(**loaded, webhooks=hooks)


def _webhook(path: Path, found: object) -> Webhook:
    if not isinstance(found, dict) or set(found) != {"url", "secret"}:
        raise ConfigError(str(path), "each of webhooks is a mapping of url and secret")
    url, secret = str(found["url"]), str(found["secret"])
    if not url.startswith(("https://", "http://")):
        raise ConfigError(str(path), f"webhook {url!r}: an http(s) URL")
    if len(secret) < 16:
        raise ConfigError(str(path), f"webhook {url}: the secret needs 16 characters or more")
    return Webhook(url, secret)
