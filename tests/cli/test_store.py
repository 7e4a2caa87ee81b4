from __future__ import annotations

from pathlib import Path

import pytest

from samerun._exceptions import StoreError
from samerun.cli.store import open_project_store


def test_a_project_without_a_store_is_one_clear_error(project: Path) -> None:
    with pytest.raises(
        StoreError, match=r"no samerun store in .*; record a run or run `samerun init`"
    ):
        open_project_store()
    assert not (project / ".samerun").exists()


def test_create_makes_the_store_and_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_project_store(create=True)
    store.close()
    assert (project / ".samerun" / "meta.db").is_file()
    assert "created a store in" in capsys.readouterr().err
    open_project_store().close()  # now it opens without a word
    assert capsys.readouterr().err == ""
