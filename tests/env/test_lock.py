from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from samerun.capture.environment import Environment, IndexConfig, Origin
from samerun.env.lock import PYTORCH_INDEX, Pin, lock_of
from samerun.manifest import Manifest
from tests.test_manifest import make_inputs, make_manifest


def manifest_with(
    packages: dict[str, str], origins: dict[str, Origin] | None, root: str = "/home/a/proj"
) -> Manifest:
    base = make_manifest()
    environment = replace(
        base.inputs.environment, packages=packages, origins=origins, index=IndexConfig()
    )
    code = replace(base.inputs.code, root=root)
    return replace(base, inputs=make_inputs(environment=environment, code=code))


def test_each_distribution_comes_back_the_way_it_was_installed(tmp_path: Path) -> None:
    wheel = tmp_path / "local-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    repo = tmp_path / "proj"
    origins = {
        "numpy": Origin("index", "pip"),
        "tool": Origin("vcs", "pip", "https://git.example.com/tool.git", "git", "c0ffee"),
        "remote-wheel": Origin("archive", "pip", "https://files.example/r.whl", hash="sha256=aa"),
        "local": Origin("archive", "pip", wheel.as_uri(), hash="sha256=bb"),
        "gone": Origin("archive", "pip", (tmp_path / "gone.whl").as_uri(), hash="sha256=cc"),
        "myproj": Origin("directory", "pip", (repo / "src" / "..").as_uri(), editable=True),
        "elsewhere": Origin("directory", "pip", "file:///opt/elsewhere", editable=True),
    }
    packages = dict.fromkeys(origins, "1.0")
    lock = lock_of(manifest_with(packages, origins, root=str(repo)))
    assert [p.requirement for p in lock.pins] == [
        f"local @ {wheel.as_uri()}#sha256=bb",
        "numpy==1.0",
        "remote-wheel @ https://files.example/r.whl#sha256=aa",
        "tool @ git+https://git.example.com/tool.git@c0ffee",
    ]
    assert [p.name for p in lock.project] == ["myproj"]
    assert {u.name: u.path for u in lock.unfetchable} == {
        "elsewhere": Path("/opt/elsewhere"),
        "gone": tmp_path / "gone.whl",
    }
    assert any("elsewhere 1.0" in w and "/opt/elsewhere" in w for w in lock.warnings)


def test_a_run_recorded_before_origins_pins_everything_from_the_index_and_says_so() -> None:
    lock = lock_of(manifest_with({"numpy": "2.0.0", "six": "1.16.0"}, None))
    assert [p.requirement for p in lock.pins] == ["numpy==2.0.0", "six==1.16.0"]
    assert any("recorded before" in w for w in lock.warnings)


def test_a_pytorch_build_with_a_local_label_brings_its_own_index() -> None:
    packages = {"torch": "2.13.0+cpu", "numpy": "2.0.0"}
    lock = lock_of(manifest_with(packages, dict.fromkeys(packages, Origin())))
    assert "torch==2.13.0+cpu" in [p.requirement for p in lock.pins]
    assert lock.extra_indexes == [PYTORCH_INDEX.format(label="cpu")]
    assert Pin("numpy", "2.0.0", Origin()).local_label is None


def test_the_recorded_index_settings_come_first() -> None:
    manifest = manifest_with({"torch": "2.3.0+cu121"}, {"torch": Origin()})
    environment: Environment = replace(
        manifest.inputs.environment,
        index=IndexConfig(extra_index_urls=[PYTORCH_INDEX.format(label="cu121")]),
    )
    lock = lock_of(replace(manifest, inputs=replace(manifest.inputs, environment=environment)))
    assert lock.extra_indexes == [PYTORCH_INDEX.format(label="cu121")]
