from __future__ import annotations

import subprocess
import sys

import pytest

from samerun._exceptions import UsageError
from samerun.capture.randomness import MAX_SEED, check_seed, choose_seed, current_hash_seed


def test_given_seed_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMERUN_SEED", "7")
    assert choose_seed(3) == (3, "given")


def test_launcher_seed_is_used_when_none_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMERUN_SEED", "7")
    assert choose_seed(None) == (7, "launcher")


def test_seed_is_drawn_when_there_is_none() -> None:
    seeds = {choose_seed(None) for _ in range(5)}
    assert all(source == "drawn" and 0 <= seed <= MAX_SEED for seed, source in seeds)
    assert len(seeds) > 1


@pytest.mark.parametrize("bad", [-1, MAX_SEED + 1, "abc", 1.5, True, None, "1e3"])
def test_bad_seeds_are_rejected(bad: object) -> None:
    with pytest.raises(UsageError, match="between 0 and 4294967295"):
        check_seed(bad)


def test_seed_strings_are_accepted() -> None:
    assert check_seed(" 42 ") == 42
    assert check_seed(MAX_SEED) == MAX_SEED


@pytest.mark.parametrize(("env", "expected"), [("123", "123"), ("random", "random"), ("0", "0")])
def test_current_hash_seed_is_what_the_interpreter_really_uses(env: str, expected: str) -> None:
    code = "from samerun.capture.randomness import current_hash_seed; print(current_hash_seed())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": env, "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == expected


def test_current_hash_seed_in_this_process_is_a_string() -> None:
    assert isinstance(current_hash_seed(), str)


def test_a_script_seeding_torch_itself_is_observed(monkeypatch: pytest.MonkeyPatch) -> None:
    from samerun.capture.randomness import observed_seeds

    class FakeTorch:
        seed = 2**63 + 5  # what an unseeded torch starts with: a random 64-bit number

        def initial_seed(self) -> int:
            return self.seed

    fake = FakeTorch()
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert observed_seeds() == []
    fake.seed = 42  # torch.manual_seed(42)
    assert observed_seeds() == ["torch"]
    monkeypatch.delitem(sys.modules, "torch")
    assert observed_seeds() == []
