"""Where a project's store is: the root found from any subdirectory, and the stores' URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from samerun._exceptions import ConfigError
from samerun.store.project import Project, find_root, open_store
from tests.conftest import git


def test_the_root_is_the_nearest_store_else_the_repository_else_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    deep = repo / "a" / "b"
    deep.mkdir(parents=True)
    git(repo, "init", "-q")
    assert find_root(deep) == repo
    (repo / "a" / ".samerun").mkdir()
    assert find_root(deep) == repo / "a"
    monkeypatch.chdir(deep)
    assert find_root() == repo / "a"  # from the working directory by default
    plain = tmp_path / "plain" / "x"
    plain.mkdir(parents=True)
    assert find_root(plain) == plain
    monkeypatch.setenv("SAMERUN_ROOT", str(plain))  # what the launcher gives its command
    assert find_root(deep) == plain


def test_git_ignores_the_store_except_the_shared_data_remotes(project: Path) -> None:
    assert Project(project).init() is True
    assert Project(project).init() is False
    assert Project(project).exists
    (project / ".samerun" / "remotes.yaml").write_text("origin: /elsewhere\n")
    shown = git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert shown == ["?? .samerun/remotes.yaml"]


def test_the_stores_are_local_unless_config_or_environment_say_otherwise(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = Project(project)
    assert here.metadata_url == f"sqlite:///{project}/.samerun/meta.db"
    assert here.objects_url == f"{project}/.samerun/objects"
    here.store_dir.mkdir()
    (here.store_dir / "config.yaml").write_text(
        "metadata: postgresql://db/runs\nobjects: s3://b/p\n"
    )
    assert (here.metadata_url, here.objects_url) == ("postgresql://db/runs", "s3://b/p")
    monkeypatch.setenv("SAMERUN_METADATA_URL", "sqlite:////elsewhere/meta.db")
    monkeypatch.setenv("SAMERUN_OBJECTS_URL", "/elsewhere/objects")
    assert (here.metadata_url, here.objects_url) == (
        "sqlite:////elsewhere/meta.db",
        "/elsewhere/objects",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [("metadata: [\n", "not valid YAML"), ("- metadata\n", "expected a mapping")],
)
def test_a_bad_config_yaml_is_one_clear_error(project: Path, text: str, reason: str) -> None:
    here = Project(project)
    here.store_dir.mkdir()
    (here.store_dir / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        _ = here.metadata_url
    assert str(raised.value).startswith(f"config file {here.store_dir / 'config.yaml'}: {reason}")


def test_open_store_with_create_makes_the_store(project: Path) -> None:
    store = open_store(Project(project), create=True)
    try:
        assert store.project.exists
        assert store.meta.list_runs() == []
    finally:
        store.close()
