"""Rules about arbitrary order: file listings and sets reaching something ordered."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import ClassVar

from samerun.doctor.context import BUILTINS, Facts, FileContext, Visitor, walk
from samerun.doctor.facts import is_number
from samerun.doctor.flow import Resolve, Use, accumulates, use_of
from samerun.doctor.rule import Rule, register

_LISTINGS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.iglob"})
_PATH_LISTINGS = frozenset({"iterdir", "glob", "rglob"})


@dataclass(frozen=True)
class _Origin:
    text: str
    line: int
    sequenced: bool = False


class _Unordered(Rule):
    """Follows unordered collections from where they are made to where their order is used."""

    nodes: ClassVar[tuple[type[ast.AST], ...]] = (
        ast.Call,
        ast.Set,
        ast.SetComp,
        ast.Name,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
    )
    problem = ""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.pending: dict[tuple[int, str], tuple[_Origin, ast.AST]] = {}
        self.done: set[_Origin] = set()
        # functions of this file that return (or yield) an unordered collection: their call
        # sites decide, so `return files` in a helper whose callers only count is no hazard;
        # one that nothing in the file calls hands the order to its unknown callers
        self.returns: dict[str, tuple[_Origin, ast.AST]] = {}
        self.called: set[str] = set()
        self.early: dict[str, list[tuple[Use, ast.AST]]] = {}  # calls seen before the def
        # collections handed to a function of this file: judged at the end, by what the
        # function does with that parameter (its def may come later in the file)
        self.defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.handed: list[tuple[str, int | str, _Origin, Use]] = []
        self.parameters: dict[tuple[int, str, bool], int | None] = {}  # shared with sub-walks
        self.only_follows = False  # a sub-walk follows one parameter, and finds no sources

    def _order_used_by(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str, origin: _Origin
    ) -> int | None:
        """The line where ``function`` uses the order of ``parameter`` (handed ``origin``), or
        None when it does not: the body is walked again following only that parameter."""
        key = (id(function), parameter, origin.sequenced)
        if key in self.parameters:
            return self.parameters[key]
        self.parameters[key] = None  # a recursive call adds nothing while this one is judged
        ctx = FileContext(self.ctx.path, Facts())
        ctx.aliases = self.ctx.aliases
        follower = type(self)(ctx)
        follower.only_follows = True
        follower.defs, follower.parameters = self.defs, self.parameters
        follower.pending[(id(function), parameter)] = (origin, function.args)
        dispatch = {t: [visitor] for t, visitor in follower.visitors().items()}
        walk(function, ctx, dispatch)
        follower.finish()
        line = ctx.hits[0].line if ctx.hits else None
        self.parameters[key] = line
        return line

    def source(self, node: ast.AST) -> str | None:
        """A description of ``node`` if it makes an unordered collection."""
        raise NotImplementedError

    def counts(self, use: Use, origin: _Origin) -> bool:
        """Whether an ordered use is a hazard for this kind of collection."""
        return True

    def visitors(self) -> dict[type[ast.AST], Visitor]:
        # names are most of a file's nodes and almost never followed: they get their own method
        return {
            **super().visitors(),
            ast.Name: self.visit_name,
            ast.FunctionDef: self.remember,
            ast.AsyncFunctionDef: self.remember,
        }

    def remember(self, node: ast.AST) -> None:
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        self.defs[node.name] = node

    def visit_name(self, node: ast.AST) -> None:
        if not self.pending:
            return
        assert isinstance(node, ast.Name)
        ctx = self.ctx
        key = (ctx.scope, node.id)
        if key not in self.pending:
            return
        origin, binder = self.pending[key]
        if isinstance(node.ctx, ast.Load) and _asserted_single(node, ctx.parents):
            del self.pending[key]  # `assert len(files) == 1`: one item from here on
        elif isinstance(node.ctx, ast.Load):
            self._follow(use_of(node, ctx.parents, ctx.resolve), origin, key, node)
        elif not ctx.parents or ctx.parents[-1] is not binder:
            del self.pending[key]  # rebound to something else

    def visit(self, node: ast.AST) -> None:
        ctx = self.ctx
        if self.only_follows:
            return
        called = self._local_call(node)
        if called is not None and called in self.returns:
            origin = self._through(called, self.returns[called][0])
            self._follow(use_of(node, ctx.parents, ctx.resolve), origin, None, node)
        elif called is not None and called not in BUILTINS:
            # a function this file may define further down: its use is judged at the end
            self.early.setdefault(called, []).append((use_of(node, ctx.parents, ctx.resolve), node))
        else:
            text = self.source(node)
            if text is not None:
                origin = _Origin(text, getattr(node, "lineno", 0))
                self._follow(use_of(node, ctx.parents, ctx.resolve), origin, None, node)

    def _local_call(self, node: ast.AST) -> str | None:
        """The name of the function of this file ``node`` may call (``helper()`` or
        ``self.helper()``), if it is such a call."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.ctx.aliases:
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id not in ("self", "cls"):
                return None
            name = func.attr
        else:
            return None
        self.called.add(name)
        return name

    @classmethod
    def handed_order(cls, tree: ast.Module, function: str, argument: int | str) -> int | None:
        ctx = FileContext("", Facts())
        reader = cls(ctx)
        reader.only_follows = True
        dispatch: dict[type[ast.AST], list[Visitor]] = {
            ast.Import: [ctx.imports],
            ast.ImportFrom: [ctx.imports],
            ast.FunctionDef: [reader.remember],
            ast.AsyncFunctionDef: [reader.remember],
        }
        walk(tree, ctx, dispatch)
        # only hazards that count when handed on reach here: judge the parameter as such
        return reader._parameter_line(function, argument, _Origin("", 0, True), method=False)

    def _parameter_line(
        self, name: str, argument: int | str, origin: _Origin, *, method: bool
    ) -> int | None:
        """Where function ``name`` of this file uses the order of ``origin`` handed to it at
        ``argument``; 0 when that cannot be told (no such def, ``*args``), None when nowhere.
        ``method``: it is called as ``self.name(...)``, so its first parameter is ``self``."""
        function = self.defs.get(name)
        if function is None:
            return 0
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        if method:
            positional = positional[1:]
        if isinstance(argument, int):
            if argument >= len(positional):
                return 0
            parameter = positional[argument].arg
        elif argument in {a.arg for a in [*positional, *args.kwonlyargs]}:
            parameter = argument
        else:
            return 0
        return self._order_used_by(function, parameter, origin)

    @staticmethod
    def _where(origin: _Origin, at: ast.AST) -> str:
        """`` (line N)`` naming where the collection was made, when that is another line."""
        return "" if origin.line == getattr(at, "lineno", 0) else f" (line {origin.line})"

    @staticmethod
    def _through(name: str, origin: _Origin) -> _Origin:
        return _Origin(f"{name}(), which returns {origin.text},", origin.line, origin.sequenced)

    def finish(self) -> None:
        for name, argument, origin, use in self.handed:
            if origin in self.done:
                continue
            assert isinstance(use.node, ast.Call)
            method = isinstance(use.node.func, ast.Attribute)  # self.helper(x)
            line = self._parameter_line(name, argument, origin, method=method)
            if line == 0:
                self._ordered(use, origin, use.node)
            elif line is not None:
                self.done.add(origin)
                self.report(
                    use.node,
                    f"{origin.text}{self._where(origin, use.node)} {self.problem}: {name}() "
                    f"uses its order on line {line}",
                    origin=origin.line,
                )
        for name, (origin, at) in list(self.returns.items()):
            for use, node in self.early.get(name, ()):
                self._follow(use, self._through(name, origin), None, node)
            handed_on = Use("ordered", at, escapes=True)
            if (
                name not in self.called
                and origin not in self.done
                and self.counts(handed_on, origin)
            ):
                self.done.add(origin)
                self.report(
                    at,
                    f"{origin.text} (line {origin.line}) {self.problem}: "
                    f"{name}() returns it in that order",
                    origin=origin.line,
                    returned_by=name,
                )

    def _follow(
        self, use: Use, origin: _Origin, key: tuple[int, str] | None, here: ast.AST
    ) -> None:
        if origin in self.done:
            return
        if use.kind == "sorts" and key is not None:
            del self.pending[key]
        elif use.kind == "bind":
            sequenced = _Origin(origin.text, origin.line, origin.sequenced or use.sequenced)
            for name in use.names:
                self.pending[(self.ctx.scope, name)] = (sequenced, use.node)
        elif use.kind == "yields" or (
            use.kind == "ordered" and isinstance(use.node, ast.Return | ast.Yield)
        ):
            function = next(
                (s for s in reversed(self.ctx.scopes) if not isinstance(s, ast.Lambda)), None
            )
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                at = use.node if hasattr(use.node, "lineno") else here
                handed = _Origin(origin.text, origin.line, origin.sequenced or use.sequenced)
                self.returns.setdefault(function.name, (handed, at))
        elif use.kind == "ordered" and self.counts(use, origin):
            handed_to = None
            if use.argument is not None and isinstance(use.node, ast.Call):
                called = self._local_call(use.node)
                if called is not None:
                    self.handed.append((called, use.argument, origin, use))
                    return
                imported = self.ctx.resolve(use.node.func)
                if imported is not None and "." in imported:
                    handed_to = (imported, use.argument)  # judged once every file is read
            self._ordered(use, origin, here, handed_to)

    def _ordered(
        self,
        use: Use,
        origin: _Origin,
        here: ast.AST,
        handed_to: tuple[str, int | str] | None = None,
    ) -> None:
        self.done.add(origin)
        at = use.node if hasattr(use.node, "lineno") else here  # a comprehension has none
        self.report(
            at,
            f"{origin.text}{self._where(origin, at)} {self.problem}",
            origin=origin.line,
            handed_to=handed_to,
        )


@register
class UnsortedListing(_Unordered):
    id = "ORD001"
    name = "unsorted-file-listing"
    title = "A directory listing is used in the order the file system returns"
    why = (
        "os.listdir, os.scandir, glob.glob and Path.iterdir/glob/rglob return files in an "
        "arbitrary order that differs between file systems and machines. Used unsorted, it "
        "changes which files come first: the order of training samples, which shard is "
        "loaded, which class gets which index."
    )
    fix = "Sort the listing where it is made: sorted(os.listdir(d)), sorted(path.glob('*.csv'))."
    bad = (
        "import glob\nimport pandas as pd\nfiles = glob.glob('data/*.csv')\n"
        "data = pd.concat([pd.read_csv(f) for f in files])"
    )
    good = (
        "import glob\nimport pandas as pd\nfiles = sorted(glob.glob('data/*.csv'))\n"
        "data = pd.concat([pd.read_csv(f) for f in files])"
    )
    problem = "lists files in file-system order, and that order is used here unsorted"

    def source(self, node: ast.AST) -> str | None:
        if not isinstance(node, ast.Call):
            return None
        name = self.ctx.resolve(node.func)
        globbing = name in ("glob.glob", "glob.iglob") or (
            isinstance(node.func, ast.Attribute) and node.func.attr == "glob"
        )
        if globbing and node.args and _stem_lookup(node.args[0]):
            return None  # the files of one name: `list(d.glob(stem + ".*"))[0]`
        if name in _LISTINGS:
            return f"{name}()"
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _PATH_LISTINGS
            and self.ctx.resolve(func.value) is None
        ):
            return f".{func.attr}()"
        return None


@register
class SetOrder(_Unordered):
    id = "ORD002"
    name = "set-iteration-order"
    title = "The iteration order of a set feeds an ordering"
    why = (
        "A set of strings iterates in an order that depends on string hashing, which Python "
        "randomizes per process (PYTHONHASHSEED). A vocabulary or label map built by "
        "enumerating a set gives each word or class a different index on every run."
    )
    fix = "Sort the set before its order is used: {w: i for i, w in enumerate(sorted(words))}."
    bad = "vocab = set(tokens)\nindex = {w: i for i, w in enumerate(vocab)}"
    good = "vocab = set(tokens)\nindex = {w: i for i, w in enumerate(sorted(vocab))}"
    problem = "is a set: its iteration order changes from run to run, and that order is used here"

    def source(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Set):
            if all(is_number(e) for e in node.elts):
                return None
            return "this set"
        if isinstance(node, ast.SetComp):
            return None if _over_range(node.generators[0].iter, self.ctx.resolve) else "this set"
        if isinstance(node, ast.Call) and self.ctx.resolve(node.func) in ("set", "frozenset"):
            if node.args and _over_range(node.args[0], self.ctx.resolve):
                return None
            return f"{self.ctx.resolve(node.func)}(...)"
        return None

    def counts(self, use: Use, origin: _Origin) -> bool:
        # handing a set to a function is fine; handing on its order (list(s), s[0]) is not
        return not use.escapes or use.sequenced or origin.sequenced


_COMPLETION_ORDER = frozenset({"concurrent.futures.as_completed", "asyncio.as_completed"})
_QUEUES = frozenset({"Queue", "SimpleQueue", "JoinableQueue"})


@register
class CompletionOrder(_Unordered):
    id = "ORD003"
    name = "completion-order-results"
    title = "Parallel results are used in the order the workers finish"
    why = (
        "Pool.imap_unordered, concurrent.futures.as_completed, asyncio.as_completed and a "
        "multiprocessing queue hand results back as the workers finish, which depends on "
        "scheduling and load. Collected into a list or written out in that order, the same "
        "inputs give differently ordered results (and differently summed floats) on every run."
    )
    fix = (
        "Keep the input order: Pool.imap / Pool.map, executor.map, asyncio.gather, or tag each "
        "result with its input index and sort by it."
    )
    bad = (
        "from multiprocessing import Pool\nwith Pool(4) as pool:\n"
        "    results = list(pool.imap_unordered(work, items))\nsave(results)"
    )
    good = (
        "from multiprocessing import Pool\nwith Pool(4) as pool:\n"
        "    results = list(pool.imap(work, items))\nsave(results)"
    )
    problem = "yields results in the order the workers finish, and that order is used here"
    nodes = (*_Unordered.nodes, ast.Assign, ast.ListComp)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.queues: set[str] = set()

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            value = node.value
            if isinstance(value, ast.Call) and _callee(value) in _QUEUES:
                self.queues.update(t.id for t in node.targets if isinstance(t, ast.Name))
            return
        queue = self._queue_read(node) if self.queues else None
        parent = self.ctx.parents[-1] if self.ctx.parents else None
        if queue is not None and isinstance(parent, ast.Call):
            # `out.append(q.get())` in a loop: `out` holds the results in arrival order
            receiver = accumulates(parent)
            if receiver is not None:
                origin = _Origin(f"draining the queue {queue}", getattr(node, "lineno", 0))
                self.pending[(self.ctx.scope, receiver)] = (origin, parent)
            return
        super().visit(node)

    def _queue_read(self, node: ast.AST) -> str | None:
        """The multiprocessing queue ``node`` reads an item from (``q.get()``), if it does."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in self.queues
        ):
            return node.func.value.id
        return None

    def source(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.ListComp):
            queue = self._queue_read(node.elt)
            return None if queue is None else f"draining the queue {queue}"
        if not isinstance(node, ast.Call):
            return None
        if isinstance(node.func, ast.Attribute) and node.func.attr == "imap_unordered":
            return ".imap_unordered()"
        name = self.ctx.resolve(node.func)
        return f"{name}()" if name in _COMPLETION_ORDER else None


def _asserted_single(name: ast.Name, parents: list[ast.AST]) -> bool:
    """``assert len(name) == 1``: what follows the assertion sees a single item."""
    if len(parents) < 3:
        return False
    call, compare, statement = parents[-1], parents[-2], parents[-3]
    return (
        isinstance(statement, ast.Assert)
        and statement.test is compare
        and isinstance(compare, ast.Compare)
        and isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "len"
        and compare.left is call
        and len(compare.ops) == 1
        and isinstance(compare.ops[0], ast.Eq)
        and isinstance(compare.comparators[0], ast.Constant)
        and compare.comparators[0].value == 1
    )


def _stem_lookup(pattern: ast.expr) -> bool:
    """A glob pattern that finds the files of one name whatever their extension, such as
    ``name + '.*'`` or ``f"{stem}.*"``: it names one item, not a collection to go through.
    The last literal piece must end in ``.*`` and hold the only wildcard, and something
    computed (the name) must come before it."""
    pieces: list[ast.expr] = []

    def flatten(node: ast.expr) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            flatten(node.left)
            flatten(node.right)
        elif isinstance(node, ast.JoinedStr):
            pieces.extend(node.values)
        else:
            pieces.append(node)

    flatten(pattern)
    *before, last = pieces
    if not before or not isinstance(last, ast.Constant) or not isinstance(last.value, str):
        return False
    wild = ("*", "?", "[", "/")
    literal = [p.value for p in before if isinstance(p, ast.Constant) and isinstance(p.value, str)]
    return (
        last.value.endswith(".*")
        and not any(w in last.value[:-2] for w in wild)
        and not any(w in text for text in literal for w in wild[:3])
    )


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _over_range(node: ast.expr, resolve: Resolve) -> bool:
    """Numbers (``range(...)``, ``map(int, ...)``) hash to themselves: their set order is stable."""
    if not isinstance(node, ast.Call):
        return False
    name = resolve(node.func)
    return name == "range" or (name == "map" and bool(node.args) and resolve(node.args[0]) == "int")
