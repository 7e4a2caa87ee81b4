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

    def call(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        func = node.func
        name = self.ctx.resolve(func)
        if name is None:
            if isinstance(func, ast.Attribute | ast.Name):  # a method, or a function of the file
                self.ctx.called_names.add(func.attr if isinstance(func, ast.Attribute) else func.id)
            return
        self.ctx.calls.add(name)
        libraries = SEEDERS.get(name)
        if libraries is not None and seeded_with(node) is not None:
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
        if is_true(node.value) and any(
            self.ctx.resolve(t) == "torch.backends.cudnn.deterministic" for t in node.targets
        ):
            self.facts.deterministic = True
