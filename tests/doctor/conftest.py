"""Helpers: write a small project to tmp_path and analyse it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from samerun.doctor.analyze import Analysis, analyze
from samerun.doctor.sources import project_files

Analyse = Callable[..., Analysis]


@pytest.fixture
def analyse(tmp_path: Path) -> Analyse:
    """Write ``files`` (path → source, dedented) under a fresh directory and analyse it."""

    def run(files: dict[str, str | bytes]) -> Analysis:
        root = tmp_path / "code"
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content))
        return analyze(root, project_files(root))

    return run


def rule_ids(analysis: Analysis) -> list[str]:
    return [f.rule for f in analysis.findings]
