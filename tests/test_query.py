"""The filter grammar: what parses to what, and where a malformed filter is said to fail."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from samerun._exceptions import FilterError
from samerun.query import (
    MAX_COMPARISONS,
    MAX_FILTER_CHARS,
    MAX_IN_VALUES,
    MAX_NESTING,
    MAX_SORT_KEYS,
    BoolOp,
    Comparison,
    Field,
    Not,
    SortKey,
    metric_keys,
    parse,
    parse_field,
    parse_order,
    search,
)


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    a = Comparison(Field("metric", "a"), ">", (1.0,))
    b = Comparison(Field("param", "b.c"), "=", ("x",))
    c = Comparison(Field("attribute", "status"), "=", ("failed",))
    assert parse("metrics.a > 1 or params.b.c = 'x' and status = 'failed'") == BoolOp(
        "or", (a, BoolOp("and", (b, c)))
    )
    assert parse("(metrics.a > 1 or params.b.c = 'x') and status = 'failed'") == BoolOp(
        "and", (BoolOp("or", (a, b)), c)
    )
    assert parse("NOT metrics.a > 1") == Not(a)


def test_values_keys_and_operators_in_their_spellings() -> None:
    assert parse("metrics.`val/loss` <= -1.5e-3") == Comparison(
        Field("metric", "val/loss"), "<=", (-0.0015,)
    )
    assert parse("name == 'it''s'") == Comparison(Field("attribute", "name"), "=", ("it's",))
    assert parse('name <> "b"') == Comparison(Field("attribute", "name"), "!=", ("b",))
    assert parse("dirty = true") == Comparison(Field("attribute", "dirty"), "=", (True,))
    assert parse("params.opt not like 'ad%'") == Not(
        Comparison(Field("param", "opt"), "like", ("ad%",))
    )
    assert parse("tags.team in ('a', 'b')") == Comparison(Field("tag", "team"), "in", ("a", "b"))


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("metrics.accuracy >", 19, "expected a value"),
        ("metrics. > 1", 1, "`metrics.` needs a key after it"),
        ("params.a..b = 1", 1, "has an empty part between its dots"),
        ("foo.bar = 1", 1, "unknown field 'foo.bar'"),
        ("params.lr > 'abc'", 1, "ordering compares numbers; 'abc' is not one"),
        ("metrics.loss = 'low'", 1, "'low' is not a number"),
        ("status = 'succeeded'", 1, "unknown run status 'succeeded'"),
        ("verdict = 'same'", 1, "unknown verdict 'same'"),
        ("name > 'a'", 1, "compared with = != in or like, not by order"),
        ("started > 'yesterday'", 1, "is not an ISO date"),
        ("(metrics.a > 1", 15, "expected `)`"),
        ("metrics.a > 1 metrics.b > 2", 15, "expected `and`, `or` or the end"),
        ("metrics.a ! 1", 11, "unexpected character '!'"),
        ("metrics.a in 1", 14, "expected `(`"),
        ("name like 3", 1, "`like` takes a quoted pattern"),
        ("started like '2026%'", 1, "`like` matches text, and this field is not text"),
        ("metrics.loss like '1%'", 1, "`like` matches text"),
    ],
)
def test_a_malformed_filter_says_where_and_why(text: str, column: int, reason: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse(text)
    message = str(caught.value)
    assert f"at column {column}:" in message
    assert reason in message
    assert "\n" not in message


def test_an_empty_filter_is_refused() -> None:
    with pytest.raises(FilterError, match="the filter is empty"):
        parse("   ")


def test_sort_keys_and_fields() -> None:
    assert parse_order(["metrics.accuracy desc", "name", "params.lr ASC"]) == [
        SortKey(Field("metric", "accuracy"), True),
        SortKey(Field("attribute", "name"), False),
        SortKey(Field("param", "lr"), False),
    ]
    with pytest.raises(FilterError, match="the direction is asc or desc"):
        parse_order(["metrics.accuracy down"])
    assert parse_field("tags.`a b`") == Field("tag", "a b")
    assert str(Field("metric", "val/loss")) == "metrics.`val/loss`"


def test_metric_keys_lists_what_a_filter_compares() -> None:
    assert metric_keys(parse("metrics.b > 1 and (not metrics.a < 2 or metrics.b > 0)")) == [
        "b",
        "a",
    ]


def test_compiled_sql_binds_every_value() -> None:
    sql, keys = search("r.id", parse("name = 'x'' or 1=1 --' and metrics.m > 3"), [], limit=5)
    assert "or 1=1" not in sql.text
    assert "x' or 1=1 --" in sql.params.values()
    assert 3.0 in sql.params.values()
    assert keys == 2  # newest first, then id


def test_a_later_page_is_a_keyset_condition_not_an_offset() -> None:
    order = parse_order(["metrics.accuracy desc"])
    first, keys = search("r.id", None, order, limit=20)
    later, _ = search("r.id", None, order, after=[0, 0.93, 1_790_000_000.0, "ab"], limit=20)
    assert keys == 4  # missing-value flag, accuracy, start time, id
    assert "OFFSET" not in later.text.upper()
    assert later.text.startswith(first.text.split(" ORDER BY")[0])
    assert "COALESCE(s0.last, 0) < :" in later.text  # after 0.93 in descending order


def test_the_grammar_imports_no_dataclasses() -> None:
    # A process: what a cold import loads is the point (samerun runs imports this every call).
    code = "import sys, samerun.query; print('dataclasses' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name = '" + "x" * MAX_FILTER_CHARS + "'", f"at most {MAX_FILTER_CHARS} characters"),
        (" and ".join(["metrics.a > 0"] * (MAX_COMPARISONS + 1)), "comparisons"),
        ("(" * (MAX_NESTING + 1) + "name = 'x'" + ")" * (MAX_NESTING + 1), "nest"),
        ("not " * (MAX_NESTING + 1) + "name = 'x'", "nest"),
        ("params.lr in (" + ", ".join(["1"] * (MAX_IN_VALUES + 1)) + ")", "`in` list"),
    ],
)
def test_a_filter_past_a_limit_is_refused_in_one_sentence(text: str, reason: str) -> None:
    with pytest.raises(FilterError, match=re.escape(reason)):
        parse(text)


def test_filters_at_the_limits_parse() -> None:
    parse(" and ".join(["metrics.a > 0"] * MAX_COMPARISONS))
    parse("(" * MAX_NESTING + "name = 'x'" + ")" * MAX_NESTING)
    parse("params.lr in (" + ", ".join(["1"] * MAX_IN_VALUES) + ")")
    assert len(parse_order(["name"] * MAX_SORT_KEYS)) == MAX_SORT_KEYS
    with pytest.raises(FilterError, match="at most"):
        parse_order(["name"] * (MAX_SORT_KEYS + 1))


def test_deep_nesting_is_refused_before_python_runs_out_of_stack() -> None:
    with pytest.raises(FilterError, match="nest"):
        parse("(" * 1900 + "name = 'x'" + ")" * 1900)
