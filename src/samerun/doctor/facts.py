"""Program-wide facts gathered during the walk: which global RNGs are seeded, and whether torch
runs in deterministic mode. Rules consult them once every file has been walked."""

from __future__ import annotations

import ast

from samerun.doctor.context import Facts, FileContext

_ALL3 = frozenset({"random", "numpy", "torch"})
_LIGHTNING = ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric")

#: Calls that seed a library's global generator, and the libraries each one seeds.
SEEDERS: dict[str, frozenset[str]] = {
    "random.seed": frozenset({"random"}),
    "numpy.random.seed": frozenset({"numpy"}),
    "torch.manual_seed": frozenset({"torch"}),
    "torch.random.manual_seed": frozenset({"torch"}),
    "tensorflow.random.set_seed": frozenset({"tensorflow"}),
    "tensorflow.set_random_seed": frozenset({"tensorflow"}),
    "tensorflow.compat.v1.set_random_seed": frozenset({"tensorflow"}),
    "tensorflow.keras.utils.set_random_seed": frozenset({"random", "numpy", "tensorflow"}),
    "keras.utils.set_random_seed": frozenset({"random", "numpy", "tensorflow"}),
    "transformers.set_seed": _ALL3 | {"tensorflow"},
    "transformers.trainer_utils.set_seed": _ALL3 | {"tensorflow"},
    "accelerate.utils.set_seed": _ALL3,
    **{f"{package}.seed_everything": _ALL3 for package in _LIGHTNING},
    "pytorch_lightning.utilities.seed.seed_everything": _ALL3,
}
_TRAINERS = frozenset(f"{package}.Trainer" for package in _LIGHTNING)
#: samerun's own seeder: without a seed it uses the run's (or draws one and records it).
_SAMERUN_SEEDERS = frozenset({"samerun.seed_everything", "samerun.seeding.seed_everything"})


def seeded_with(call: ast.Call) -> ast.expr | None:
    """The seed argument of a seeding call, unless it is missing or the literal ``None``."""
    value = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "seed":
            value = keyword.value
    if value is None or (isinstance(value, ast.Constant) and value.value is None):
        return None
    return value


def is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def is_number(node: ast.expr) -> bool:
    """A numeric literal: it hashes to itself, the same in every process."""
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float | complex)


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


class FactCollector:
    """Walk visitors that record into the program's :class:`Facts`."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.facts: Facts = ctx.facts
        # `random.seed(args.seed)` seeds only if --seed has a value by default: the options the
        # file declares without one, and the seeds taken from options, judged at the file's end
        self.unset_options: set[str] = set()
        self.seeds_from_options: list[tuple[frozenset[str], str]] = []
        self.filled_in: set[str] = set()  # attributes the file assigns: `opt.seed = ...`

    def finish(self) -> None:
        """Count the seeds taken from options that have a value when none is given (or that
        the file fills in: ``if opt.seed is None: opt.seed = random.randint(...)``)."""
        unset = self.unset_options - self.filled_in
        for libraries, option in self.seeds_from_options:
            if option not in unset:
                self.facts.seeded |= libraries

    def call(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "add_argument":
            option = _unset_option(node)
            if option is not None:
                self.unset_options.add(option)
        name = self.ctx.resolve(func)
        if name is None:
            if isinstance(func, ast.Attribute | ast.Name):  # a method, or a function of the file
                self.ctx.called_names.add(func.attr if isinstance(func, ast.Attribute) else func.id)
            return
        self.ctx.calls.add(name)
        libraries = SEEDERS.get(name)
        seed = seeded_with(node) if libraries is not None else None
        if libraries is not None and isinstance(seed, ast.Attribute):
            self.seeds_from_options.append((frozenset(libraries), seed.attr))
        elif libraries is not None and seed is not None:
            self.facts.seeded |= libraries
        elif name in _SAMERUN_SEEDERS:
            self.facts.seeded |= _ALL3 | {"tensorflow"}
            self.facts.deterministic |= is_true(keyword(node, "deterministic"))
        elif name == "torch.use_deterministic_algorithms":
            mode = node.args[0] if node.args else keyword(node, "mode")
            if not (isinstance(mode, ast.Constant) and mode.value is False):
                self.facts.deterministic = True
        elif name in _TRAINERS:
            mode = keyword(node, "deterministic")
            if is_true(mode) or (isinstance(mode, ast.Constant) and mode.value == "warn"):
                self.facts.deterministic = True

    def subclass(self, node: ast.AST) -> None:
        """A class built on an imported one runs that class's code when it is used."""
        assert isinstance(node, ast.ClassDef)
        self.ctx.calls.update(n for n in map(self.ctx.resolve, node.bases) if n is not None)

    def branch(self, node: ast.AST) -> None:
        """``if __name__ == "__main__":`` makes the file an entry point."""
        assert isinstance(node, ast.If)
        test = node.test
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        ):
            self.ctx.main = True

    def assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Assign)
        self.filled_in.update(t.attr for t in node.targets if isinstance(t, ast.Attribute))
        if is_true(node.value) and any(
            self.ctx.resolve(t) == "torch.backends.cudnn.deterministic" for t in node.targets
        ):
            self.facts.deterministic = True


def _unset_option(call: ast.Call) -> str | None:
    """The destination of an argparse option declared without a default (so ``None`` when
    not given), as in ``parser.add_argument("--seed", type=int)``; None for any other."""
    flags = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if not flags or not all(flag.startswith("-") for flag in flags):
        return None  # a positional argument is required
    default, action = keyword(call, "default"), keyword(call, "action")
    if is_true(keyword(call, "required")) or action is not None:
        return None  # required, or store_true/count/...: a value either way
    if default is not None and not (isinstance(default, ast.Constant) and default.value is None):
        return None
    dest = keyword(call, "dest")
    if isinstance(dest, ast.Constant) and isinstance(dest.value, str):
        return dest.value
    long = next((f for f in flags if f.startswith("--")), flags[0])
    return long.lstrip("-").replace("-", "_")
