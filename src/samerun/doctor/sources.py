"""Finding and reading the files to analyse: Python modules and notebooks' code cells.

A file that cannot be analysed (binary, too large, not valid Python, an unreadable notebook) is
returned as :class:`Skipped` with the reason; it never stops the run.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from samerun.doctor.model import Skipped
from samerun.sourcetree import SKIP_DIRS, walk_files

MAX_SOURCE_BYTES = 1 << 20  # larger .py files are generated code, not something to review
MAX_NOTEBOOK_BYTES = 32 << 20  # notebooks carry their outputs (images) inline
SUFFIXES = (".py", ".ipynb")
#: Never the project's own code, even when git does not ignore them (a virtual environment's
#: packages live in site-packages).
_SUPPRESS = re.compile(r"#\s*samerun:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)
_HELP = re.compile(r"^[\w.]+\?{1,2}\s*$")
_SHELL_ASSIGN = re.compile(r"^\s*[\w, ]+=\s*[!%]")
_CELL_MAGICS_KEEP = frozenset({"%%time", "%%timeit", "%%capture", "%%prun"})


@dataclass(frozen=True)
class Cell:
    """A unit of code parsed on its own: a whole module, or one notebook code cell."""

    tree: ast.Module
    number: int | None  # 1-based code cell number in a notebook, None for a module
    suppressed: dict[int, list[str]]  # line → rule prefixes silenced there ([] = every rule)


@dataclass(frozen=True)
class NotebookCell:
    number: int  # 1-based, counting code cells only
    execution_count: int | None
    empty: bool


@dataclass
class Source:
    """A file to analyse: its parsed cells and, for notebooks, the cells' execution record."""

    path: str
    cells: list[Cell]
    notebook: list[NotebookCell] | None = None
    skipped_cells: list[str] = field(default_factory=list)


def project_files(root: Path) -> list[Path]:
    """Every file of the project under ``root`` (a directory or one file), in path order.

    In a git repository these are the tracked and the untracked-but-not-ignored files: what
    ``.gitignore`` keeps out (virtual environments, build output) is not the project's.
    """
    if root.is_file():
        return [root]
    listed = _git_files(root)
    paths = listed if listed is not None else list(walk_files(root))
    return sorted(p for p in paths if SKIP_DIRS.isdisjoint(p.parts) and p.is_file())


def _git_files(root: Path) -> list[Path] | None:
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    names = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [root / name for name in sorted(set(names)) if name]


def load(path: Path, rel: str) -> Source | Skipped:
    """Read and parse one file."""
    try:
        size = path.stat().st_size
        limit = MAX_NOTEBOOK_BYTES if path.suffix == ".ipynb" else MAX_SOURCE_BYTES
        if size > limit:
            return Skipped(rel, f"larger than {limit >> 20} MiB ({size >> 20} MiB)")
        data = path.read_bytes()
    except OSError as err:
        return Skipped(rel, f"cannot be read: {err.strerror or err}")
    if b"\0" in data:
        return Skipped(rel, "binary file")
    if path.suffix == ".ipynb":
        return _load_notebook(data, rel)
    parsed = _parse(data)
    if isinstance(parsed, str):
        return Skipped(rel, parsed)
    return Source(rel, [Cell(parsed, None, _suppressions(data.decode("utf-8", "replace")))])


def _parse(code: str | bytes) -> ast.Module | str:
    """The module, or why it cannot be parsed."""
    try:
        return ast.parse(code)
    except SyntaxError as err:
        return f"syntax error at line {err.lineno}: {err.msg}"
    except (ValueError, UnicodeDecodeError):
        return "not readable as Python source text"
    except (RecursionError, MemoryError):
        return "too deeply nested to parse"


def _suppressions(text: str) -> dict[int, list[str]]:
    if "samerun:" not in text:
        return {}
    found: dict[int, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _SUPPRESS.search(line)
        if match:
            codes = match.group(1)
            found[number] = [c.strip().upper() for c in (codes or "").split(",") if c.strip()]
    return found


def _load_notebook(data: bytes, rel: str) -> Source | Skipped:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as err:
        return Skipped(rel, f"unreadable notebook: not valid JSON ({err.__class__.__name__})")
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        return Skipped(rel, "unreadable notebook: no `cells` list (nbformat 4 is expected)")
    language = _language(document)
    if language not in ("", "python"):
        return Skipped(rel, f"a {language} notebook, not Python")
    source = Source(rel, [], notebook=[])
    assert source.notebook is not None
    code_cells = [c for c in document["cells"] if isinstance(c, dict)]
    number = 0
    for raw in code_cells:
        if raw.get("cell_type") != "code":
            continue
        number += 1
        text = raw.get("source", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        count = raw.get("execution_count")
        source.notebook.append(
            NotebookCell(number, count if isinstance(count, int) else None, not text.strip())
        )
        code = _without_magics(text)
        if code is None:
            continue
        parsed = _parse(code)
        if isinstance(parsed, str):
            source.skipped_cells.append(f"cell {number}: {parsed}")
        else:
            source.cells.append(Cell(parsed, number, _suppressions(text)))
    return source


def _language(document: dict[str, object]) -> str:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    for key in ("kernelspec", "language_info"):
        info = metadata.get(key)
        if isinstance(info, dict):
            name = info.get("language") or (info.get("name") if key == "language_info" else None)
            if isinstance(name, str):
                return name.lower()
    return ""


def _without_magics(text: str) -> str | None:
    """The cell as plain Python: IPython magics and shell escapes blanked (lines keep their
    numbers); None for a cell magic that makes the cell something other than Python."""
    lines = text.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        if lines[0].split()[0] not in _CELL_MAGICS_KEEP:
            return None
        lines[0] = ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or _HELP.match(stripped) or _SHELL_ASSIGN.match(line):
            line = line[: len(line) - len(stripped)] + "pass"
        out.append(line)
    return "\n".join(out)
