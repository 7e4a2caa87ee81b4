"""Where an unordered collection ends up: does its arbitrary order reach anything ordered?

``use_of`` climbs from an expression through its ancestors: ``sorted(x)``, ``set(x)``,
``len(x)``, ``y in x`` or a loop that only reads and deletes make the order irrelevant;
``enumerate(x)``, ``x[0]``, a loop that appends or returns make it matter; ``list(x)`` and
comprehensions pass the order on; ``name = x`` binds it, and the rule follows the name.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Consumers whose result does not depend on the order of their argument.
ORDER_FREE_CALLS = frozenset(
    "sorted set frozenset dict len any all max min sum bool next collections.Counter "
    "numpy.sort".split()
)
#: Calls that keep the order of their argument in their result.
ORDER_KEEPING_CALLS = frozenset({"list", "tuple", "iter", "reversed"})
#: Methods on the collection itself whose result does not depend on its order.
_ORDER_FREE_METHODS = frozenset(
    "add discard remove update clear issubset issuperset isdisjoint intersection_update "
    "difference_update symmetric_difference_update count append extend insert appendleft".split()
)
_APPENDS = frozenset({"append", "extend", "insert", "appendleft"})
_ORDER_KEEPING_METHODS = frozenset(
    "union intersection difference symmetric_difference copy".split()
)
#: Calls a loop body may make for their effect without the loop's order mattering: checks,
#: deletions, adding to sets, printing. (Calls whose value is used are taken to be functions.)
_PURE_FUNCTIONS = frozenset("print os.remove os.unlink os.rmdir os.chmod shutil.rmtree".split())
_PURE_METHODS = frozenset(
    "add discard update unlink rmdir chmod touch close remove clear difference_update".split()
)


@dataclass(frozen=True)
class Use:
    """How an expression's order is used: ``free``, ``ordered``, ``bind`` (to ``names``),
    ``yields`` (from a generator), or ``sorts`` (the named list is sorted in place).
    ``escapes`` marks an ordered use that only hands the collection on (to a call, a return,
    an attribute); ``sequenced`` that it went through ``list()``/``tuple()`` or a
    comprehension on the way."""

    kind: str
    node: ast.AST
    names: tuple[str, ...] = ()
    escapes: bool = False
    sequenced: bool = False


Resolve = Callable[[ast.AST], "str | None"]


def use_of(node: ast.AST, parents: Sequence[ast.AST], resolve: Resolve) -> Use:
    """How the order of ``node`` (whose ancestors are ``parents``) is used."""
    child, sequenced = node, False
    index = len(parents) - 1
    while index >= 0:
        parent = parents[index]
        index -= 1
        if isinstance(parent, ast.Call):
            name = resolve(parent.func)
            if child is parent.func:
                return Use("ordered", parent, escapes=True, sequenced=sequenced)
            if name in ORDER_FREE_CALLS:
                return Use("free", parent)
            if name in ORDER_KEEPING_CALLS:
                child, sequenced = parent, sequenced or name in ("list", "tuple")
                continue
            if isinstance(parent.func, ast.Attribute) and parent.func.attr == "join":
                return Use("free", parent)  # a message listing the items, not a result
            ordering = name in ("enumerate", "zip")
            return Use("ordered", parent, escapes=not ordering, sequenced=sequenced)
        if isinstance(parent, ast.comprehension):
            if child is not parent.iter:
                return Use("free", parent)  # a condition, e.g. `if x in listing`
            comp = parents[index]
            index -= 1
            if isinstance(comp, ast.SetComp | ast.DictComp):
                return Use("free", comp)  # a set, or a mapping looked up by key
            child, sequenced = comp, True
            continue
        if isinstance(parent, ast.Attribute):
            if parent.attr == "sort":
                return Use("sorts", parent)
            if parent.attr in _ORDER_FREE_METHODS:
                return Use("free", parent)
            if parent.attr in _ORDER_KEEPING_METHODS and index >= 0:
                child = parents[index]  # the method call
                index -= 1
                continue
            return Use("ordered", parent, escapes=True, sequenced=sequenced)
        if isinstance(parent, ast.Compare):
            if all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops) or any(
                isinstance(side, ast.List | ast.Tuple) and not side.elts
                for side in (parent.left, *parent.comparators)
            ):
                return Use("free", parent)  # membership, or `== []`
            return Use("ordered", parent, escapes=True, sequenced=sequenced)
        if isinstance(parent, ast.If | ast.While | ast.Assert) or (
            isinstance(parent, ast.IfExp) and child is parent.test
        ):
            return Use("free", parent)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
            return Use("free", parent)
        if isinstance(parent, ast.BoolOp | ast.IfExp | ast.BinOp | ast.Await | ast.Starred):
            child = parent
            continue
        if isinstance(parent, ast.keyword):
            child = parent
            continue
        if isinstance(parent, ast.Expr):
            return Use("free", parent)  # the value is thrown away
        if isinstance(parent, ast.For | ast.AsyncFor) and child is parent.iter:
            kind, names = loop_effect(parent.body)
            return Use(kind, parent, names=names, sequenced=True)
        if isinstance(parent, ast.Subscript) and child is parent.value:
            return Use("ordered", parent, sequenced=sequenced)
        bound = _bound_name(parent)
        if bound is not None:
            return Use("bind", parent, names=(bound,), sequenced=sequenced)
        return Use("ordered", parent, escapes=True, sequenced=sequenced)
    return Use("free", node)


def _bound_name(node: ast.AST) -> str | None:
    target: ast.expr | None
    if isinstance(node, ast.withitem):
        target = node.optional_vars
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign | ast.NamedExpr | ast.AugAssign):
        target = node.target  # `out += listing` carries the order on in `out`
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def loop_effect(body: list[ast.stmt]) -> tuple[str, tuple[str, ...]]:
    """What a loop body does with the order of the items it visits.

    ``("free", ())`` when any order gives the same result: it reads, checks, deletes, adds to
    sets; ``("bind", names)`` when it only appends the items to local lists (or fills local
    dicts), whose own use then decides; ``("yields", ())`` when it hands them on from a
    generator; ``("ordered", ())`` when it returns the first match, breaks,
    numbers the items, carries state from one item to the next, or calls something for its
    effect.
    """
    accumulators: set[str] = set()
    yields = False
    counted: set[str] = set()
    loaded: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Yield | ast.YieldFrom):
                yields = True
            elif isinstance(node, ast.Return | ast.Break):
                return "ordered", ()  # the first match wins
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                counted.add(node.target.id)
            elif isinstance(node, ast.Assign) and _carries_state(node):
                return "ordered", ()
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                accumulators.update(
                    t.value.id
                    for t in targets
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                )
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                receiver = accumulates(node.value)
                if receiver is not None:
                    accumulators.add(receiver)
                elif not _pure_call(node.value):
                    return "ordered", ()  # called for its effect, in this order
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loaded.add(node.id)
    if counted & loaded:
        return "ordered", ()  # `i += 1` used as an index numbers the items in order
    if yields:
        return "yields", ()  # a generator in the items' order: its consumers decide
    return ("bind", tuple(sorted(accumulators))) if accumulators else ("free", ())


def _carries_state(node: ast.Assign) -> bool:
    """``x = f(x, item)``: each item's result depends on the items before it."""
    names = {t.id for t in node.targets if isinstance(t, ast.Name)}
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node.value))


def accumulates(call: ast.Call) -> str | None:
    """The local list that ``call`` appends to (``found.append(x)``), if that is what it does."""
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr in _APPENDS
        and isinstance(func.value, ast.Name)
    ):
        return func.value.id
    return None


def _pure_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr in _PURE_METHODS:
            return True
        dotted = _dotted(func)
        return dotted in _PURE_FUNCTIONS or dotted.startswith("os.path.")
    return isinstance(func, ast.Name) and func.id in _PURE_FUNCTIONS


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""
