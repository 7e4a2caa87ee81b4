"""``samerun doctor``: find nondeterminism hazards in a project's code and score how
reproducible the project is (levels 0-4), with the evidence and the next steps."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from samerun._exceptions import UsageError
from samerun.doctor.model import Evidence, Finding, Report, Skipped

__all__ = ["Evidence", "Finding", "Report", "Skipped", "diagnose"]


def diagnose(path: Path, *, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Report:
    """Analyse the code under ``path`` and gather the project's evidence.

    ``select``/``ignore`` take rule ids or prefixes (``RNG``, ``ORD001``), as ruff does; they
    choose the findings reported, not the analysis behind the evidence.
    """
    from samerun.capture.code import git_toplevel
    from samerun.doctor import evidence, levels
    from samerun.doctor.analyze import analyze
    from samerun.doctor.registry import selector
    from samerun.doctor.sources import project_files

    keep = selector(select, ignore)  # bad ids fail before any work
    root = path.resolve()
    if not root.exists():
        raise UsageError(f"{path} does not exist; give a project directory or a Python file")
    base = root if root.is_dir() else root.parent
    files = project_files(root)
    analysis = analyze(root, files)
    repo = git_toplevel(base)
    dirs = [base, *(p for p in base.parents if repo is not None and p.is_relative_to(repo))]
    checks = [
        *evidence.git_state(base),
        *evidence.environment(dirs),
        evidence.data(files),
        evidence.seeds(analysis.findings, analysis.programs),
        *evidence.runs(base),
        evidence.ci(repo or base, files),
    ]
    level, steps = levels.score(checks)
    return Report(
        root=str(root),
        level=level,
        evidence=checks,
        next_steps=steps,
        findings=[f for f in analysis.findings if keep(f.rule)],
        skipped=analysis.skipped,
        files=analysis.files,
    )
