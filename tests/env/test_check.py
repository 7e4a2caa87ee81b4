from __future__ import annotations

from dataclasses import replace

from samerun.capture.environment import Origin, capture_environment
from samerun.env.check import check_interpreter, differences


def test_this_interpreter_matches_its_own_record() -> None:
    assert check_interpreter(capture_environment()) == []


def test_a_changed_package_python_or_origin_is_a_difference() -> None:
    here = capture_environment()
    assert here.origins is not None
    recorded = replace(
        here,
        python="3.9.18",
        packages={**here.packages, "click": "0.1", "ghost": "1.0"},
        origins={
            **here.origins,
            "rich": Origin("vcs", "pip", "https://x.example/r.git", "git", "c1"),
        },
        build="another build line",
    )
    keys = {c.key: c for c in differences(recorded, here)}
    assert keys["python"].before == "3.9.18"
    assert keys["package click"].before == "0.1"
    assert keys["package ghost"].kind == "removed"
    assert keys["origin rich"].after == "index"
    assert "build" not in keys  # informational: shown by diff, never a mismatch on its own


def test_packages_left_out_on_purpose_are_not_differences() -> None:
    here = capture_environment()
    recorded = replace(here, packages={**here.packages, "myproj": "0.1"})
    assert differences(recorded, here, ignore=["myproj"]) == []
