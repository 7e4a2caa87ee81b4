"""The rule registry: every built-in rule by id, and selecting rules by id prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from samerun._exceptions import UsageError
from samerun.doctor import rules as _built_in  # noqa: F401  (importing them registers them)
from samerun.doctor.rule import REGISTERED, Rule

ALL = "ALL"


def rules() -> dict[str, type[Rule]]:
    """Every registered rule by id, in id order."""
    return dict(sorted(REGISTERED.items()))


def _prefixes(values: Iterable[str]) -> list[str]:
    return [p.strip().upper() for v in values for p in v.split(",") if p.strip()]


def matches(rule_id: str, prefix: str) -> bool:
    return prefix == ALL or rule_id.startswith(prefix)


def selector(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Callable[[str], bool]:
    """A predicate over rule ids, with ruff's semantics.

    ``select`` defaults to every rule; a prefix selects every rule whose id starts with it;
    when both lists match an id the longer (more specific) prefix wins, ``ignore`` on a tie.
    """
    chosen, dropped = _prefixes(select) or [ALL], _prefixes(ignore)
    known = rules()
    for prefix in [*chosen, *dropped]:
        if not any(matches(rule_id, prefix) for rule_id in known):
            raise UsageError(
                f"no rule id starts with {prefix!r}; `samerun doctor --rules` lists them"
            )

    def weight(rule_id: str, prefixes: list[str]) -> int:
        hits = [0 if p == ALL else len(p) for p in prefixes if matches(rule_id, p)]
        return max(hits, default=-1)

    return lambda rule_id: weight(rule_id, chosen) > weight(rule_id, dropped)
