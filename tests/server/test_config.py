from __future__ import annotations

from pathlib import Path

import pytest

from samerun._exceptions import ConfigError
from samerun.server.config import ServerConfig, load_server_config


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
