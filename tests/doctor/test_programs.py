"""Entry points and the project modules each one runs."""

from __future__ import annotations

from pathlib import Path

from samerun.doctor.context import Facts
from samerun.doctor.programs import Unit, declared_entry_points, module_names, programs


def test_a_module_is_importable_by_its_path_and_every_suffix() -> None:
    assert module_names("src/pkg/mod.py") == ["src.pkg.mod", "pkg.mod", "mod"]
    assert module_names("pkg/__init__.py") == ["pkg"]


def test_scripts_importing_a_neighbour_get_their_own_directory_s_module() -> None:
    units = [
        Unit("a/main.py", imports={"utils"}),
        Unit("a/utils.py", Facts(seeded={"torch"})),
        Unit("b/main.py", imports={"utils"}),
        Unit("b/utils.py"),
    ]
    found = {p.entry: (sorted(p.files), p.facts.seeded) for p in programs(units)}
    assert found == {
        "a/main.py": (["a/main.py", "a/utils.py"], {"torch"}),
        "b/main.py": (["b/main.py", "b/utils.py"], set()),
    }


def test_a_guarded_module_is_an_entry_point_even_when_imported() -> None:
    units = [Unit("cli.py", imports={"core"}), Unit("core.py", entry=True)]
    assert [p.entry for p in programs(units)] == ["cli.py", "core.py"]


def test_modules_in_an_import_cycle_are_still_judged() -> None:
    units = [Unit("a.py", imports={"b"}), Unit("b.py", imports={"a"})]
    assert [sorted(p.files) for p in programs(units)] == [["a.py", "b.py"], ["a.py", "b.py"]]


def test_a_script_importing_a_package_beside_it_runs_that_package() -> None:
    units = [
        Unit("ex/train.py", imports={"utils.io"}),
        Unit("ex/utils/__init__.py"),
        Unit("ex/utils/io.py", Facts(seeded={"numpy"})),
    ]
    (program,) = programs(units)
    assert program.entry == "ex/train.py"
    assert program.facts.seeded == {"numpy"}


def test_a_test_module_runs_with_the_conftest_files_above_it() -> None:
    units = [
        Unit("tests/conftest.py", Facts(seeded={"random"})),
        Unit("tests/unit/test_a.py"),
        Unit("other/test_b.py"),
    ]
    found = {p.entry: p.facts.seeded for p in programs(units)}
    assert found["tests/unit/test_a.py"] == {"random"}
    assert found["other/test_b.py"] == set()


def test_a_declared_console_script_is_an_entry_point(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.scripts]\nx = "pkg.cli:main"\n'
    )
    declared = declared_entry_points(tmp_path)
    assert declared == {"pkg.cli"}
    units = [Unit("src/pkg/cli.py"), Unit("tests/test_cli.py", imports={"pkg.cli"})]
    assert [p.entry for p in programs(units, declared)] == ["src/pkg/cli.py", "tests/test_cli.py"]
    assert [p.entry for p in programs(units)] == ["tests/test_cli.py"]


def test_a_missing_or_broken_pyproject_declares_nothing(tmp_path: Path) -> None:
    assert declared_entry_points(tmp_path) == set()
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert declared_entry_points(tmp_path) == set()


def test_python_dash_m_targets_in_the_project_s_run_files_are_entry_points(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("train:\n\tpython -u -m pkg.train --epochs 3\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("run: python3 -m pkg.evaluate\n")
    (tmp_path / "run.sh").write_text("python -m pytest -q\n")
    assert declared_entry_points(tmp_path) == {"pkg.train", "pkg.evaluate", "pytest"}
    units = [Unit("pkg/train.py"), Unit("pkg/cli.py", imports={"pkg.train"})]
    declared = declared_entry_points(tmp_path)
    assert [p.entry for p in programs(units, declared)] == ["pkg/cli.py", "pkg/train.py"]
