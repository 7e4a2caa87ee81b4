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
#: Set methods whose result does not depend on the order of their argument.
_SET_METHODS = frozenset(
    "update add discard difference_update intersection_update symmetric_difference_update "
    "issubset issuperset isdisjoint union intersection difference".split()
)
_ORDER_KEEPING_METHODS = frozenset(
    "union intersection difference symmetric_difference copy".split()
)
#: Calls a loop body may make for their effect without the loop's order mattering: checks,
#: deletions, adding to sets, printing and logging, file operations that act on one path each.
#: (Calls whose value is used are taken to be functions.)
_PURE_FUNCTIONS = frozenset(
    "print os.remove os.unlink os.rmdir os.chmod os.chown os.utime os.makedirs os.mkdir "
    "os.rename os.replace shutil.rmtree shutil.copy shutil.copy2 shutil.copyfile "
    "shutil.copytree shutil.move".split()
)
_PURE_METHODS = frozenset(
    "add discard update unlink rmdir chmod touch close remove clear difference_update "
    "debug info warning error".split()
)
#: Calls that only report progress: an item's number used in them numbers messages, not results.
_REPORTING = frozenset({"print", "debug", "info", "warning", "set_description", "set_postfix"})


@dataclass(frozen=True)
class Use:
    """How an expression's order is used: ``free``, ``ordered``, ``bind`` (to ``names``),
    ``yields`` (from a generator), or ``sorts`` (the named list is sorted in place).
    ``escapes`` marks an ordered use that only hands the collection on (to a call, a return,
    an attribute); ``sequenced`` that it went through ``list()``/``tuple()`` or a
    comprehension on the way; ``argument`` where a call was handed it."""

    kind: str
    node: ast.AST
    names: tuple[str, ...] = ()
    escapes: bool = False
    sequenced: bool = False
    argument: int | str | None = None  # the position or keyword it is passed at, to a call


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
            if isinstance(parent.func, ast.Attribute) and parent.func.attr in _SET_METHODS:
                return Use("free", parent)  # `seen.update(listing)`: a set of the items
            if name == "enumerate" and _numbers_only_messages(parent, parents[: index + 1]):
                child, sequenced = parent, True
                continue
            if name in ("enumerate", "zip"):
                return Use("ordered", parent, sequenced=sequenced)
            return Use(
                "ordered",
                parent,
                escapes=True,
                sequenced=sequenced,
                argument=_position(parent, child),
            )
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
                isinstance(side, ast.List | ast.Tuple) and len(side.elts) <= 1
                for side in (parent.left, *parent.comparators)
            ):
                return Use("free", parent)  # membership, `== []`, or `== [only]`
            return Use("ordered", parent, escapes=True, sequenced=sequenced)
        if isinstance(parent, ast.If | ast.While | ast.Assert) or (
            isinstance(parent, ast.IfExp) and child is parent.test
        ):
            return Use("free", parent)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
            return Use("free", parent)
        if isinstance(parent, ast.FormattedValue):
            return Use("free", parent)  # shown in a message, as with `", ".join(listing)`
        if isinstance(parent, ast.BoolOp | ast.IfExp | ast.BinOp | ast.Await | ast.Starred):
            child = parent
            continue
        if isinstance(parent, ast.keyword):
            child = parent
            continue
        if isinstance(parent, ast.Expr):
            return Use("free", parent)  # the value is thrown away
        if isinstance(parent, ast.For | ast.AsyncFor) and child is parent.iter:
            kind, names = loop_effect(parent.body, _names(parent.target))
            return Use(kind, parent, names=names, sequenced=True)
        if isinstance(parent, ast.Subscript) and child is parent.value:
            return Use("ordered", parent, sequenced=sequenced)
        if _unpacks_one(parent) or (isinstance(parent, ast.withitem) and not parent.optional_vars):
            return Use("free", parent)  # `(only,) = listing` has one order; `with it:` none
        bound = _bound_name(parent)
        if bound is not None:
            return Use("bind", parent, names=(bound,), sequenced=sequenced)
        return Use("ordered", parent, escapes=True, sequenced=sequenced)
    return Use("free", node)


def _position(call: ast.Call, argument: ast.AST) -> int | str | None:
    """Where ``argument`` is passed to ``call``: its position, or its keyword."""
    if isinstance(argument, ast.keyword):
        return argument.arg
    return next((i for i, arg in enumerate(call.args) if arg is argument), None)


def _unpacks_one(node: ast.AST) -> bool:
    """``(only,) = x`` or ``[only] = x``: unpacking a single item, which fails unless there is
    exactly one, so the order cannot matter."""
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Tuple | ast.List)
        and len(node.targets[0].elts) == 1
        and not isinstance(node.targets[0].elts[0], ast.Starred)
    )


def _numbers_only_messages(call: ast.Call, parents: Sequence[ast.AST]) -> bool:
    """``for i, item in enumerate(items)`` where ``i`` only numbers progress messages (in
    ``print``/logging calls, or in the test of an ``if`` that only reports)."""
    loop = parents[-1] if parents else None
    if not (
        isinstance(loop, ast.For)
        and loop.iter is call
        and isinstance(loop.target, ast.Tuple)
        and len(loop.target.elts) == 2
        and isinstance(loop.target.elts[0], ast.Name)
    ):
        return False
    number = loop.target.elts[0].id
    reported: set[int] = set()
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if isinstance(node, ast.Call) and _reports(node):
            reported.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.If) and all(
            isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and _reports(s.value)
            for s in node.body
        ):
            reported.update(id(n) for n in ast.walk(node.test))
    return all(
        id(node) in reported
        for node in ast.walk(ast.Module(body=loop.body, type_ignores=[]))
        if isinstance(node, ast.Name) and node.id == number
    )


def _reports(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in _REPORTING


def _names(target: ast.AST) -> set[str]:
    """The names an assignment target binds."""
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


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


def loop_effect(body: list[ast.stmt], items: set[str]) -> tuple[str, tuple[str, ...]]:
    """What a loop body does with the order of the items it visits (bound to ``items``).

    ``("free", ())`` when any order gives the same result: it reads, checks, deletes, adds to
    sets, or acts on each item on its own (``img.save(...)`` on an image opened from the item);
    ``("bind", names)`` when it only appends the items to local lists (or fills local
    dicts), whose own use then decides; ``("yields", ())`` when it hands them on from a
    generator; ``("ordered", ())`` when it returns the first match, breaks,
    numbers the items, carries state from one item to the next, or calls something for its
    effect.
    """
    accumulators: set[str] = set()
    yields = False
    counted: set[str] = set()
    loaded: set[str] = set()
    fresh = set(items)  # names that hold something of this item only, in each pass
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Yield | ast.YieldFrom):
                yields = True
            elif isinstance(node, ast.Return | ast.Break):
                return "ordered", ()  # the first match wins
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                counted.add(node.target.id)
            elif isinstance(node, ast.Assign) and _carries_state(node, fresh):
                return "ordered", ()
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                accumulators.update(
                    t.value.id
                    for t in targets
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                )
                fresh.update(
                    n for t in targets if isinstance(t, ast.Name | ast.Tuple) for n in _names(t)
                )
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                fresh |= _names(node.optional_vars)
            elif isinstance(node, ast.For | ast.comprehension):
                fresh |= _names(node.target)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                receiver = accumulates(node.value)
                if receiver is not None:
                    accumulators.add(receiver)
                elif not _pure_call(node.value) and _receiver(node.value) not in fresh:
                    return "ordered", ()  # called for its effect, in this order
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loaded.add(node.id)
    if counted & loaded:
        return "ordered", ()  # `i += 1` used as an index numbers the items in order
    if yields:
        return "yields", ()  # a generator in the items' order: its consumers decide
    return ("bind", tuple(sorted(accumulators))) if accumulators else ("free", ())


def _carries_state(node: ast.Assign, fresh: set[str]) -> bool:
    """``x = f(x, item)`` with ``x`` from the pass before: each item's result depends on the
    items before it. (``img = resize(img)`` after ``img = open(item)`` carries nothing.)"""
    names = {t.id for t in node.targets if isinstance(t, ast.Name)} - fresh
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node.value))


def _receiver(call: ast.Call) -> str | None:
    """The name a method call acts on: ``img`` in ``img.save(...)`` or ``img.info.clear()``."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    base = func.value
    while isinstance(base, ast.Attribute):
        base = base.value
    return base.id if isinstance(base, ast.Name) else None


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
