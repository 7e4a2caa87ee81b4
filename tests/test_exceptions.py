"""The error tree: every failure samerun reports is a SamerunError, one sentence on one line."""

from __future__ import annotations

import inspect

import pytest

import samerun._exceptions as errors
from samerun._exceptions import SamerunError, WorkspaceConflict

ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if cls.__module__ == errors.__name__
]


def example(cls: type[Exception]) -> tuple[Exception, list[str]]:
    """An instance of ``cls`` made of placeholders (``<name>``), and the placeholders."""
    params = [
        p
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    if not params:
        return cls("<message>"), ["<message>"]
    args: list[object] = []
    for param in params:
        kind = str(param.annotation)  # a string: the module uses postponed annotations
        text = f"<{param.name}>"
        args.append([text] if kind.startswith("list") else 7 if "int" in kind else text)
    return cls(*args), [f"<{p.name}>" for p, arg in zip(params, args, strict=True) if arg != 7]


def test_the_tree_is_found() -> None:
    assert SamerunError in ERRORS
    assert len(ERRORS) > 10


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_is_a_samerun_error(cls: type[Exception]) -> None:
    assert issubclass(cls, SamerunError)  # so the command line prints it as one line


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_message_is_one_line_naming_what_it_is_about(cls: type[Exception]) -> None:
    error, placeholders = example(cls)
    message = str(error)
    assert "\n" not in message
    for placeholder in placeholders:
        assert placeholder in message, f"{cls.__name__}: {message!r} leaves out {placeholder}"


def test_a_conflict_names_five_paths_counts_the_rest_and_says_what_to_do() -> None:
    paths = [f"part-{i}.bin" for i in range(8)]
    message = str(WorkspaceConflict("data/raw", paths, "overwrite changed files"))
    assert message == (
        "data/raw: checkout would overwrite changed files: part-0.bin, part-1.bin, part-2.bin, "
        "part-3.bin, part-4.bin and 3 more; `samerun data add data/raw` to keep them, "
        "or use --force"
    )
