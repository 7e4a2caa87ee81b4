from __future__ import annotations

from pathlib import Path

import pytest

from samerun._exceptions import ConfigError
from samerun.server.config import ServerConfig, load_server_config
from samerun.server.webhooks import Webhook


def test_a_config_file_gives_the_keys_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("metadata: postgresql+psycopg://db/samerun\nport: 8080\nsecure_cookies: true\n")
    config = load_server_config(path)
    assert config == ServerConfig(
        metadata="postgresql+psycopg://db/samerun", port=8080, secure_cookies=True
    )
    assert config.given() == {
        "metadata": "postgresql+psycopg://db/samerun",
        "port": 8080,
        "secure_cookies": True,
    }
    path.write_text("")
    assert load_server_config(path) == ServerConfig()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("workers: two\n", "workers: 'two' is not an integer"),
        ("secure_cookies: 1\n", "secure_cookies: 1 is not true or false"),
        ("port: [", "not valid YAML"),
        ("password: x\n", "unknown key 'password'"),
    ],
)
def test_a_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason) as refused:
        load_server_config(path)
    assert str(path) in str(refused.value)


def test_webhooks_are_urls_with_secrets(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(
        "webhooks:\n  - url: https://ci.example.com/hook\n    secret: 0123456789abcdef\n"
    )
    config = load_server_config(path)
    assert config.webhooks == (Webhook("https://ci.example.com/hook", "0123456789abcdef"),)
    assert config.given() == {}  # not a command-line option
    for text, reason in [
        ("webhooks:\n  - https://x\n", "a mapping of url and secret"),
        ("webhooks:\n  - {url: ftp://x, secret: 0123456789abcdef}\n", "an http"),
        ("webhooks:\n  - {url: https://x, secret: short}\n", "16 characters"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=reason):
            load_server_config(path)
