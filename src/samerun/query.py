"""The run filter grammar: parsed to a syntax tree, compiled to parameterized SQL.

A filter is never evaluated as Python. It reads like SQL's WHERE clause::

    metrics.accuracy > 0.9 and params.model.lr < 0.1
    status in ('failed', 'killed') or not verdict = 'identical'
    name like 'baseline%' and started >= '2026-11-01'

Fields are ``metrics.KEY`` (the metric's last value), ``params.KEY`` (a nested param by its dotted
path), ``tags.KEY`` and the attributes in :data:`ATTRIBUTES`. A key that is not a plain dotted
name is quoted with backticks: ``metrics.`val/loss```. Values are numbers, quoted strings,
``true`` and ``false``. Operators: ``= != < <= > >= in like``, combined with ``and``, ``or``,
``not`` and parentheses.

:func:`parse` gives the tree (or a :class:`FilterError` naming the column where it failed);
:func:`compile_filter` turns a tree into SQL text with named parameters that SQLite and
PostgreSQL both run, over the tables of :mod:`samerun.store.schema`. Ordering keys
(``metrics.accuracy desc``) are parsed by :func:`parse_order`; :func:`search` compiles a page's
query, with the expressions keyset pagination compares.

Its types are named tuples, not dataclasses: ``samerun runs`` imports this module on every
call, and a dataclass costs over a millisecond to create (tests/test_query.py keeps
``dataclasses`` out of this module's imports).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Literal, NamedTuple

from samerun._exceptions import FilterError, UsageError
from samerun.status import run_status, verdict

Kind = Literal["metric", "param", "tag", "attribute"]
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "like", "in"]
Value = float | str | bool


class Attribute(NamedTuple):
    """A column of the runs table a filter or sort can name."""

    column: str  # SQL expression over the runs table ``r``
    kind: Literal["text", "number", "time", "bool", "status", "verdict"]


#: The run attributes a filter can name, and what they compare as.
ATTRIBUTES: dict[str, Attribute] = {
    "id": Attribute("r.id", "text"),
    "name": Attribute("r.name", "text"),
    "status": Attribute("r.status", "status"),
    "started": Attribute("r.started_at", "time"),
    "ended": Attribute("r.ended_at", "time"),
    "duration": Attribute("(r.ended_at - r.started_at)", "number"),
    "seed": Attribute("r.seed", "number"),
    "commit": Attribute("r.commit_sha", "text"),
    "dirty": Attribute("r.dirty", "bool"),
    "verdict": Attribute("r.verdict", "verdict"),
    "replay_of": Attribute("r.replay_of", "text"),
}
_PREFIXES: dict[str, Kind] = {"metrics": "metric", "params": "param", "tags": "tag"}


class Field(NamedTuple):
    kind: Kind
    key: str  # the metric, param or tag key; the attribute's name

    def __str__(self) -> str:
        if self.kind == "attribute":
            return self.key
        plain = re.fullmatch(r"[A-Za-z_][\w.\-]*", self.key)
        return f"{self.kind}s.{self.key if plain else '`' + self.key + '`'}"


class Comparison(NamedTuple):
    field: Field
    op: Operator
    values: tuple[Value, ...]  # one value, or the list of ``in``


class Not(NamedTuple):
    item: Node


class BoolOp(NamedTuple):
    op: Literal["and", "or"]
    items: tuple[Node, ...]


Node = Comparison | Not | BoolOp


class SortKey(NamedTuple):
    field: Field
    descending: bool


# -- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.`])
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>(?:[A-Za-z_][\w\-]*|`[^`]+`)(?:\.(?:[A-Za-z_0-9][\w\-]*|`[^`]+`)?)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "like", "true", "false"}

# -- limits: a filter arrives from anyone who can reach the API, and each comparison becomes a
# join or a subquery in the SQL; these keep the worst filter cheap to parse and to run, and
# keep the parser's recursion far from Python's own limit. The README's API section lists them.
#: The longest filter text taken.
MAX_FILTER_CHARS = 4000
#: The most comparisons (``field op value``) one filter may hold.
MAX_COMPARISONS = 64
#: The deepest nesting of parentheses and ``not``.
MAX_NESTING = 16
#: The most values in one ``in (...)`` list.
MAX_IN_VALUES = 500
#: The most sort keys.
MAX_SORT_KEYS = 8


class _Token(NamedTuple):
    kind: Literal["number", "string", "op", "punct", "name", "keyword", "end"]
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(text, position, f"unexpected character {text[position]!r}")
        kind = match.lastgroup
        word = match.group()
        if kind == "name" and word.lower() in _KEYWORDS:
            tokens.append(_Token("keyword", word.lower(), position))
        elif kind == "op":
            tokens.append(_Token("op", {"==": "=", "<>": "!="}.get(word, word), position))
        elif kind in ("number", "string", "punct", "name"):
            tokens.append(_Token(kind, word, position))  # type: ignore[arg-type]
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# -- parsing ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER_CHARS:
            raise FilterError(
                text[:80], None, f"a filter may be at most {MAX_FILTER_CHARS} characters long"
            )
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0
        self.comparisons = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def fail(self, reason: str, token: _Token | None = None) -> FilterError:
        token = token or self.token
        found = "the end of the filter" if token.kind == "end" else repr(token.text)
        return FilterError(self.text, token.position, f"{reason}, found {found}")

    def take(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.token
        if token.kind == kind and (text is None or token.text == text):
            self.at += 1
            return token
        return None

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise FilterError(self.text, None, "the filter is empty")
        node = self.disjunction()
        if self.at != len(self.tokens) - 1:
            raise self.fail("expected `and`, `or` or the end of the filter")
        return node

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.take("keyword", "or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.take("keyword", "and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def negation(self) -> Node:
        if self.token.kind in ("keyword", "punct") and self.token.text in ("not", "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.fail(f"a filter may nest `(` and `not` at most {MAX_NESTING} deep")
            node = self._nested()
            self.depth -= 1
            return node
        return self.comparison()

    def _nested(self) -> Node:
        if self.take("keyword", "not"):
            return Not(self.negation())
        self.take("punct", "(")
        node = self.disjunction()
        if not self.take("punct", ")"):
            raise self.fail("expected `)`")
        return node

    def comparison(self) -> Node:
        start = self.token
        if start.kind != "name":
            raise self.fail("expected a field such as metrics.accuracy, params.lr or status")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.fail(f"a filter may hold at most {MAX_COMPARISONS} comparisons")
        self.at += 1
        field = parse_field(start.text, self.text, start.position)
        negated = bool(self.take("keyword", "not"))
        if self.take("keyword", "in"):
            return self._negated(negated, self.in_list(field))
        if self.take("keyword", "like"):
            return self._negated(negated, _checked(self, field, "like", (self.value(),), start))
        if negated:
            raise self.fail("expected `in` or `like` after `not`")
        op = self.take("op")
        if op is None:
            raise self.fail(f"expected an operator (= != < <= > >= in like) after {start.text}")
        return _checked(self, field, op.text, (self.value(),), start)  # type: ignore[arg-type]

    @staticmethod
    def _negated(negated: bool, node: Node) -> Node:
        return Not(node) if negated else node

    def in_list(self, field: Field) -> Node:
        start = self.token
        if not self.take("punct", "("):
            raise self.fail("expected `(` to start the list of `in`")
        values = [self.value()]
        while self.take("punct", ","):
            if len(values) == MAX_IN_VALUES:
                raise self.fail(f"an `in` list may hold at most {MAX_IN_VALUES} values")
            values.append(self.value())
        if not self.take("punct", ")"):
            raise self.fail("expected `,` or `)` in the list of `in`")
        return _checked(self, field, "in", tuple(values), start)

    def value(self) -> Value:
        token = self.token
        if token.kind == "number":
            self.at += 1
            return float(token.text)
        if token.kind == "string":
            self.at += 1
            return _unquote(token.text)
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.at += 1
            return token.text == "true"
        raise self.fail("expected a value (a number, a quoted string, true or false)")


def _unquote(literal: str) -> str:
    quote = literal[0]
    body = literal[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


def parse_field(name: str, text: str | None = None, position: int = 0) -> Field:
    """``metrics.accuracy`` → Field("metric", "accuracy"); ``status`` → an attribute."""
    text = name if text is None else text
    head, dot, rest = name.partition(".")
    if head in _PREFIXES:
        parts = _split_key(rest)
        if not parts:
            raise FilterError(text, position, f"`{head}.` needs a key after it, e.g. {head}.loss")
        if ".".join(parts) != rest:
            raise FilterError(text, position, f"{name!r} has an empty part between its dots")
        key = ".".join(part.strip("`") for part in parts)
        return Field(_PREFIXES[head], key)
    if not dot and name in ATTRIBUTES:
        return Field("attribute", name)
    known = ", ".join(sorted(ATTRIBUTES))
    raise FilterError(
        text,
        position,
        f"unknown field {name!r}; use metrics.KEY, params.KEY, tags.KEY or one of {known}",
    )


def _split_key(rest: str) -> list[str]:
    return re.findall(r"`[^`]+`|[^.]+", rest)


def _checked(
    parser: _Parser, field: Field, op: Operator, values: tuple[Value, ...], at: _Token
) -> Comparison:
    """The comparison, if comparing ``field`` that way with those values makes sense."""

    def refuse(reason: str) -> FilterError:
        return FilterError(parser.text, at.position, f"{field} {op}: {reason}")

    ordering = op in ("<", "<=", ">", ">=")
    kind = ATTRIBUTES[field.key].kind if field.kind == "attribute" else field.kind
    for value in values:
        if op == "like" and kind not in ("text", "tag", "param", "status", "verdict"):
            raise refuse("`like` matches text, and this field is not text")
        if op == "like" and not isinstance(value, str):
            raise refuse("`like` takes a quoted pattern such as 'base%'")
        if kind in ("metric", "number") and not _is_number(value):
            raise refuse(f"{_shown(value)} is not a number")
        if kind == "time" and not (_is_number(value) or isinstance(value, str)):
            raise refuse(f"{_shown(value)} is not a time (an ISO date or seconds since 1970)")
        if kind == "bool" and not isinstance(value, bool):
            raise refuse(f"{_shown(value)} is not true or false")
        if kind in ("text", "tag", "status", "verdict") and not isinstance(value, str):
            raise refuse(f"{_shown(value)} is not a quoted string")
        if ordering and kind == "param" and not _is_number(value):
            raise refuse(f"ordering compares numbers; {_shown(value)} is not one")
        if ordering and kind in ("text", "tag", "status", "verdict", "bool"):
            raise refuse("this field is compared with = != in or like, not by order")
        try:
            if kind == "status" and op != "like":
                run_status(str(value))
            if kind == "verdict" and op != "like":
                verdict(str(value))
        except UsageError as err:
            raise refuse(str(err)) from None
        if kind == "time" and isinstance(value, str) and _timestamp(value) is None:
            raise refuse(f"{value!r} is not an ISO date such as 2026-11-29 or 2026-11-29T12:00")
    return Comparison(field, op, values)


def _is_number(value: Value) -> bool:
    return isinstance(value, float)


def _shown(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else f"{value:g}"


def _timestamp(value: str) -> float | None:
    """Seconds since 1970 of an ISO date or time (UTC unless it says otherwise); None if not one."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse(text: str) -> Node:
    """The syntax tree of filter ``text``; a :class:`FilterError` says where it went wrong."""
    return _Parser(text).parse()


def parse_order(keys: list[str] | tuple[str, ...]) -> list[SortKey]:
    """``["metrics.accuracy desc", "name"]`` → sort keys (ascending unless ``desc``)."""
    if len(keys) > MAX_SORT_KEYS:
        raise FilterError(", ".join(keys)[:80], None, f"sort by at most {MAX_SORT_KEYS} keys")
    order = []
    for key in keys:
        words = key.split()
        if not words or len(words) > 2:
            raise FilterError(key, None, "a sort key is a field and an optional asc or desc")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise FilterError(key, len(words[0]) + 1, "the direction is asc or desc")
        order.append(SortKey(parse_field(words[0], key), direction == "desc"))
    return order


def metric_keys(node: Node) -> list[str]:
    """The metric keys ``node`` compares, in the order they appear."""
    if isinstance(node, Comparison):
        return [node.field.key] if node.field.kind == "metric" else []
    items = (node.item,) if isinstance(node, Not) else node.items
    keys: list[str] = []
    for item in items:
        keys += [k for k in metric_keys(item) if k not in keys]
    return keys


# -- compiling ----------------------------------------------------------------------------------


class Sql(NamedTuple):
    """SQL text with ``:name`` parameters, and their values."""

    text: str
    params: dict[str, object]


class Compiler:
    """Compiles filters and sort keys for one query; parameter names never repeat in it."""

    def __init__(self) -> None:
        self.params: dict[str, object] = {}

    def bind(self, value: object) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def where(self, node: Node) -> str:
        if isinstance(node, BoolOp):
            joined = f" {node.op.upper()} ".join(self.where(item) for item in node.items)
            return f"({joined})"
        if isinstance(node, Not):
            return f"(NOT {self.where(node.item)})"
        return self._comparison(node)

    def _comparison(self, node: Comparison) -> str:
        field = node.field
        if field.kind == "attribute":
            attribute = ATTRIBUTES[field.key]
            return self._test(attribute.column, attribute.kind, node)
        key = self.bind(field.key)
        if field.kind == "metric":
            test = self._test("m.last", "number", node)
            rows = f"SELECT m.run_id FROM metric_summaries m WHERE m.key = {key} AND {test}"
        elif field.kind == "param":
            number = all(_is_number(v) for v in node.values)
            column = "p.number" if number and node.op != "like" else "p.text"
            test = self._test(column, "number" if column == "p.number" else "text", node)
            rows = f"SELECT p.run_id FROM params p WHERE p.key = {key} AND {test}"
        else:
            test = self._test("t.value", "text", node)
            rows = f"SELECT t.run_id FROM tags t WHERE t.key = {key} AND {test}"
        return f"r.id IN ({rows})"

    def _test(self, column: str, kind: str, node: Comparison) -> str:
        values = [self._literal(kind, v) for v in node.values]
        if node.op == "in":
            return f"{column} IN ({', '.join(self.bind(v) for v in values)})"
        if node.op == "like":  # case-insensitive on every engine (SQLite's LIKE already is)
            return f"LOWER({column}) LIKE LOWER({self.bind(values[0])})"
        op = "<>" if node.op == "!=" else node.op
        return f"{column} {op} {self.bind(values[0])}"

    @staticmethod
    def _literal(kind: str, value: Value) -> object:
        if kind == "time" and isinstance(value, str):
            return _timestamp(value)  # checked when parsed
        if kind == "text" and isinstance(value, bool):
            return "true" if value else "false"  # a param's text is its JSON: true, false
        if kind == "text" and isinstance(value, float):  # params.x in (3, 'a'): JSON text too
            return str(int(value)) if value.is_integer() else repr(value)
        return value

    def order(self, keys: list[SortKey]) -> tuple[str, list[Ordered]]:
        """Joins for the sort keys, and the ordered expressions: each key's missing-value flag
        and value, then the start time (newest first) and the id, so the order is total."""
        joins = []
        ordered = []
        for index, key in enumerate(keys):
            field = key.field
            if field.kind == "attribute":
                attribute = ATTRIBUTES[field.key]
                column = attribute.column
                if attribute.kind == "bool":  # PostgreSQL will not COALESCE a boolean with 0
                    column = (
                        f"(CASE WHEN {column} IS NULL THEN NULL WHEN {column} THEN 1 ELSE 0 END)"
                    )
                values = [(column, attribute.kind in ("number", "time", "bool"))]
            else:
                alias = f"s{index}"
                table = {"metric": "metric_summaries", "param": "params", "tag": "tags"}
                joins.append(
                    f" LEFT JOIN {table[field.kind]} {alias} ON {alias}.run_id = r.id"
                    f" AND {alias}.key = {self.bind(field.key)}"
                )
                values = {
                    "metric": [(f"{alias}.last", True)],
                    "param": [(f"{alias}.number", True), (f"{alias}.text", False)],
                    "tag": [(f"{alias}.value", False)],
                }[field.kind]
            first = values[0][0]
            ordered.append(Ordered(f"(CASE WHEN {first} IS NULL THEN 1 ELSE 0 END)"))
            for expression, numeric in values:
                blank = "0" if numeric else "''"
                ordered.append(Ordered(f"COALESCE({expression}, {blank})", key.descending))
        if Field("attribute", "started") not in [k.field for k in keys]:
            ordered.append(Ordered("r.started_at", descending=True))
        ordered.append(Ordered("r.id"))
        return "".join(joins), ordered

    def after(self, ordered: list[Ordered], last: list[object]) -> str:
        """Rows that come after ``last`` (the ordered values of the previous page's last row)."""
        alternatives = []
        for index, item in enumerate(ordered):
            equal = [
                f"{o.expression} = {self.bind(last[i])}" for i, o in enumerate(ordered[:index])
            ]
            beyond = f"{item.expression} {'<' if item.descending else '>'} {self.bind(last[index])}"
            alternatives.append("(" + " AND ".join([*equal, beyond]) + ")")
        return "(" + " OR ".join(alternatives) + ")"


class Ordered(NamedTuple):
    """One expression of an ORDER BY; null flags sort ascending so missing values come last."""

    expression: str
    descending: bool = False

    @property
    def sql(self) -> str:
        return f"{self.expression} {'DESC' if self.descending else 'ASC'}"


def search(
    columns: str,
    node: Node | None,
    order: list[SortKey],
    *,
    after: list[object] | None = None,
    limit: int | None = None,
    replays: bool = True,
    projects: Sequence[str] | None = None,
) -> tuple[Sql, int]:
    """The query for one page of runs: ``columns`` of the runs table ``r``, then the ordered
    values (whose count is returned) that the next page's ``after`` takes from the last row.
    ``replays=False`` leaves out the replays ``samerun verify`` recorded; ``projects`` keeps
    only the runs of those team-server projects (None: every run)."""
    compiler = Compiler()
    joins, ordered = compiler.order(order)
    conditions = _conditions(compiler, node, replays, projects)
    if after is not None:
        if len(after) != len(ordered):
            raise FilterError("", None, "the page token does not belong to this query")
        conditions.append(compiler.after(ordered, after))
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    keys = ", ".join(o.expression for o in ordered)
    text = (
        f"SELECT {columns}, {keys} FROM runs r{joins}{where}"
        f" ORDER BY {', '.join(o.sql for o in ordered)}"
    )
    if limit is not None:
        text += f" LIMIT {compiler.bind(limit)}"
    return Sql(text, compiler.params), len(ordered)


def count(node: Node | None, *, replays: bool = True, projects: Sequence[str] | None = None) -> Sql:
    """How many runs match ``node`` (replays left out with ``replays=False``; only the runs of
    ``projects`` when given)."""
    compiler = Compiler()
    conditions = _conditions(compiler, node, replays, projects)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return Sql(f"SELECT count(*) FROM runs r{where}", compiler.params)


def _conditions(
    compiler: Compiler, node: Node | None, replays: bool, projects: Sequence[str] | None
) -> list[str]:
    conditions = [] if node is None else [compiler.where(node)]
    if not replays:
        conditions.append("r.replay_of IS NULL")
    if projects is not None:
        conditions.append(project_condition(compiler, "r.project", projects))
    return conditions


def project_condition(compiler: Compiler, column: str, projects: Sequence[str]) -> str:
    """``column`` is one of ``projects``: the team server's permission filter, in the query
    itself (no project at all matches nothing)."""
    if not projects:
        return "1 = 0"
    return f"{column} IN ({', '.join(compiler.bind(name) for name in projects)})"
