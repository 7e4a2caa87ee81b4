"""``samerun.cli.main``: every error becomes one line and an exit code; the two entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from samerun._exceptions import UsageError
from samerun.cli import status
from tests.conftest import Cli
from tests.test_exceptions import ERRORS, example


def _failing_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """``samerun data status`` raises ``error`` (as anything a command calls might)."""

    def fail(_paths: list[str]) -> int:
        raise error

    monkeypatch.setattr(status, "show_status", fail)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_an_error_is_one_line_exit_2_for_bad_input_else_1(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, cls: type[Exception]
) -> None:
    error, _ = example(cls)
    _failing_with(monkeypatch, error)
    done = cli("data", "status")
    assert done.exit_code == (2 if isinstance(error, UsageError) else 1)
    assert done.stderr == f"error: {error}\n"
    assert done.stdout == ""


def test_brackets_in_an_error_message_are_printed_as_they_are(cli: Cli, project: Path) -> None:
    assert cli("init").exit_code == 0
    for ref in ("a[bold]b", "[/x]"):
        done = cli("show", ref)
        assert done.exit_code == 1
        assert done.stderr.startswith(f"error: run '{ref}': ")


def test_ctrl_c_exits_130_without_a_traceback(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_with(monkeypatch, KeyboardInterrupt())
    done = cli("data", "status")
    assert (done.exit_code, done.stdout, done.stderr) == (130, "", "")


def test_a_click_usage_error_exits_2_naming_the_option(cli: Cli) -> None:
    done = cli("runs", "--no-such-option")
    assert done.exit_code == 2
    assert "No such option" in done.stderr
    assert "--no-such-option" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_samerun_script_and_python_m_samerun_cli_are_the_same_command() -> None:
    script = Path(sys.executable).parent / "samerun"
    # Processes: the installed entry points themselves are what is tested.
    for command in ([str(script)], [sys.executable, "-m", "samerun.cli"]):
        done = subprocess.run([*command, "--help"], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Usage: samerun [OPTIONS] COMMAND [ARGS]...")
        bad = subprocess.run([*command, "no-such-command"], capture_output=True, text=True)
        assert bad.returncode == 2
        assert "No such command 'no-such-command'" in bad.stderr
