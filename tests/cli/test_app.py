"""The ``samerun`` commands as a user meets them: bad input, JSON output, help text."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

import samerun
from tests.conftest import Cli, CliResult


@pytest.fixture
def recorded(project: Path, cli: Cli) -> Path:
    """The project with one finished run in its store."""
    done = cli("record", "--seed", "1", "--config", "config.yaml", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    return project


def runs_json(cli: Cli) -> list[dict[str, Any]]:
    done = cli("runs", "--all", "--json")
    assert done.exit_code == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def store_files(root: Path) -> set[str]:
    """Objects and run directories of the store: what recording a run would add."""
    store = root / ".samerun"
    found = {p.relative_to(store).as_posix() for p in (store / "objects").rglob("*")}
    found |= {p.relative_to(store).as_posix() for p in (store / "runs").rglob("*")}
    return found


def assert_one_clear_line(done: CliResult, *words: str) -> str:
    assert done.exit_code != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


BAD_RECORDS = {
    "missing config": (["--config", "missing.yaml"], ["missing.yaml", "no such file"]),
    "malformed YAML": (["--config", "bad.yaml"], ["bad.yaml", "YAML"]),
    "config is a list": (["--config", "list.yaml"], ["list.yaml", "mapping"]),
    "malformed JSON": (["--config", "bad.json"], ["bad.json", "JSON"]),
    "param without value": (["-p", "lr"], ["'lr'", "KEY=VALUE"]),
    "param with bad key": (["-p", "=1"], ["KEY=VALUE"]),
    "seed not a number": (["--seed", "abc"], ["'abc'", "seed"]),
    "seed out of range": (["--seed", "-1"], ["seed"]),
    "output outside the project": (["--output", "../elsewhere.bin"], ["elsewhere.bin", "outside"]),
    "output is an absolute path elsewhere": (["--output", "/etc/hostname"], ["outside"]),
}


def _write_bad_configs(root: Path) -> None:
    (root / "bad.yaml").write_text("model:\n  lr: [0.1,\n")
    (root / "list.yaml").write_text("- 1\n- 2\n")
    (root / "bad.json").write_text('{"lr": 0.1,}')


def test_bad_record_input_gets_one_line_and_changes_nothing(recorded: Path, cli: Cli) -> None:
    _write_bad_configs(recorded)
    (recorded / "model.pkl").unlink()
    before, files = runs_json(cli), store_files(recorded)
    for case, (args, words) in BAD_RECORDS.items():
        done = cli("record", *args, "--", "python", "train.py")
        try:
            assert_one_clear_line(done, *words)
        except AssertionError as err:
            raise AssertionError(f"{case}: {err}") from None
        assert "trained" not in done.stdout, f"{case}: the command ran although the input was bad"
        assert store_files(recorded) == files, case
        assert not (recorded / "model.pkl").exists(), case
    assert runs_json(cli) == before


def test_bad_input_in_a_fresh_project_creates_no_store(project: Path, cli: Cli) -> None:
    done = cli("record", "--config", "missing.yaml", "--", "python", "train.py")
    assert_one_clear_line(done, "missing.yaml")
    assert not (project / ".samerun").exists()


def test_an_output_that_was_never_written_fails_the_run(recorded: Path, cli: Cli) -> None:
    before = runs_json(cli)
    done = cli("record", "--output", "out/never.bin", "--", "python", "train.py")
    assert done.exit_code != 0
    assert "Traceback" not in done.stderr
    assert "out/never.bin" in done.stderr
    rows = runs_json(cli)
    assert len(rows) == len(before) + 1
    assert rows[0]["status"] == "failed"
    assert "out/never.bin" in rows[0]["error"]
    assert rows[0]["metrics"]["accuracy"] == 0.9  # what the run did log is kept


UNKNOWN_REFS = [
    ("show", "0123456789abcdef", ["0123456789abcdef", "no run"]),
    ("show", "not-an-id", ["not-an-id", "last"]),
    ("export", "fedcba", ["fedcba", "no run"]),
]


def test_unknown_run_reference(recorded: Path, cli: Cli) -> None:
    before = runs_json(cli)
    for command, ref, words in UNKNOWN_REFS:
        done = cli(command, ref, *(["-o", "out.json"] if command == "export" else []))
        assert_one_clear_line(done, *words)
        assert done.stdout == ""
    assert not (recorded / "out.json").exists()
    assert runs_json(cli) == before


def test_ambiguous_prefix_and_unique_prefix(
    project: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter([uuid.UUID("abcd0000" + "0" * 23 + "1"), uuid.UUID("abcd0000" + "0" * 23 + "2")])
    with monkeypatch.context() as patched:
        patched.setattr(uuid, "uuid4", lambda: next(ids))
        for lr in (0.1, 0.2):
            with samerun.start_run(name=f"lr-{lr}", params={"lr": lr}) as run:
                run.log_metric("loss", lr)

    done = cli("show", "abcd")
    line = assert_one_clear_line(done, "'abcd'")
    assert "more than one" in line
    assert cli("export", "abcd000").exit_code != 0

    done = cli("show", "abcd" + "0" * 27 + "2", "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["inputs"]["params"] == {"lr": 0.2}
    done = cli("show", "ABCD" + "0" * 27 + "1", "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "lr-0.1"


def test_runs_show_and_export_as_json(recorded: Path, cli: Cli) -> None:
    (row,) = runs_json(cli)
    assert row["status"] == "finished"
    assert row["seed"] == 1
    assert set(row["metrics"]) == {"accuracy", "loss"}

    shown = cli("show", "last", "--json")
    assert shown.exit_code == 0, shown.stderr
    manifest = json.loads(shown.stdout)
    assert manifest.pop("verifications") == []  # `show` adds the run's verification history
    assert manifest["schema"] == "samerun.run/1"
    assert manifest["id"] == row["id"]
    assert manifest["fingerprints"]["inputs"] == row["input_fingerprint"]
    assert manifest["fingerprints"]["outputs"] == row["output_fingerprint"]

    done = cli("export", "last", "-o", "run.json")
    assert done.exit_code == 0, done.stderr
    content = (recorded / "run.json").read_text()
    assert json.dumps(json.loads(content), sort_keys=True, separators=(",", ":")) == content
    assert json.loads(content) == manifest

    printed = cli("export", row["id"][:8])
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout.strip() == content


def test_show_renders_the_four_pillars(recorded: Path, cli: Cli) -> None:
    done = cli("show", "last")
    assert done.exit_code == 0, done.stderr
    (row,) = runs_json(cli)
    assert row["id"][:8] in done.stdout
    for word in ("model.lr", "loss", "accuracy"):
        assert word in done.stdout


def test_runs_without_a_store(project: Path, cli: Cli) -> None:
    for args in (["runs"], ["runs", "--json"], ["show", "last"], ["export", "last"]):
        done = cli(*args)
        line = assert_one_clear_line(done, "no samerun store")
        assert "samerun init" in line or "record" in line
    assert not (project / ".samerun").exists()


def test_show_last_on_an_empty_store(project: Path, cli: Cli) -> None:
    assert cli("init").exit_code == 0
    assert_one_clear_line(cli("show", "last"), "no runs")
    done = cli("runs")
    assert done.exit_code == 0, done.stderr
    assert "no runs" in done.stdout + done.stderr


def _commands(cli: Cli) -> list[str]:
    done = cli("--help")
    assert done.exit_code == 0, done.stderr
    section = done.stdout.split("Commands:", 1)[1]
    names = [m.group(1) for m in re.finditer(r"^\s{2}([a-z][\w-]*)\s", section, re.M)]
    assert {"init", "record", "runs", "show", "export"} <= set(names)
    return names


def test_every_commands_help_ends_with_an_example(cli: Cli) -> None:
    for command in ["", *_commands(cli)]:
        done = cli(*([command] if command else []), "--help")
        assert done.exit_code == 0, done.stderr
        text = done.stdout.split("\nOptions:", 1)[0]  # the help text, before the option list
        tail = [line.strip() for line in text.strip().splitlines()][-6:]
        heading = [i for i, line in enumerate(tail) if line.startswith("Example")]
        assert heading, f"`samerun {command} --help` does not end with an example"
        examples = tail[heading[-1] + 1 :]
        assert examples, f"`samerun {command} --help` has an empty example"
        assert examples[0].startswith(f"samerun {command}".strip()), examples


def test_require_clean_refuses_a_dirty_tree_and_records_nothing(project: Path, cli: Cli) -> None:
    (project / "train.py").write_text((project / "train.py").read_text() + "# edited\n")
    (project / "notes.txt").write_text("untracked\n")
    refused = cli("record", "--require-clean", "--", "python", "train.py")
    line = assert_one_clear_line(refused, "uncommitted changes", "train.py", "notes.txt")
    assert "--require-clean" in line
    assert not (project / ".samerun" / "runs").exists()


def test_a_committed_config_sets_the_seed_and_can_require_a_clean_tree(
    project: Path, cli: Cli
) -> None:
    store = project / ".samerun"
    store.mkdir()
    (store / "config.yaml").write_text("seed: 1234\n")
    done = cli("record", "--json", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["inputs"]["randomness"]["seed"] == 1234
    assert "seed 1234, from .samerun/config.yaml" in done.stderr
    drawn = cli("record", "--seed", "7", "--", "python", "train.py")
    assert "seed 7, given" in drawn.stderr
    (store / "config.yaml").write_text("seed: 1234\nrequire_clean: true\n")
    refused = cli("record", "--", "python", "train.py")
    assert_one_clear_line(refused, "uncommitted changes", ".samerun/config.yaml")
    (store / "config.yaml").write_text("seed: -1\n")
    assert_one_clear_line(cli("record", "--", "python", "train.py"), "config.yaml", "seed")


def test_a_drawn_seed_says_how_to_repeat_it_and_bytecode_is_not_a_warning(
    project: Path, cli: Cli
) -> None:
    cache = project / "__pycache__"
    cache.mkdir()
    (cache / "train.cpython-311.pyc").write_bytes(b"\x00compiled")
    done = cli("record", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    assert "drawn; pass --seed to repeat it" in done.stderr
    assert "__pycache__" not in done.stderr


def test_a_script_that_seeds_torch_itself_shows_it_seeded(project: Path, cli: Cli) -> None:
    pytest.importorskip("torch")
    (project / "seeds.py").write_text(
        "import samerun, torch\nsamerun.start_run()\ntorch.manual_seed(3)\n"
    )
    done = cli("record", "--json", "--", "python", "seeds.py")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["inputs"]["randomness"]["seeded"] == ["torch"]
