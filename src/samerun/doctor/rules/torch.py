"""PyTorch: data loading order, worker seeds, cuDNN autotuning and deterministic mode."""

from __future__ import annotations

import ast

from samerun.doctor.context import Facts, FileContext, Hit
from samerun.doctor.facts import is_true
from samerun.doctor.rule import Rule, register

_DATALOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_CPU_COUNTS = frozenset({"os.cpu_count", "multiprocessing.cpu_count", "os.process_cpu_count"})


class _DataLoaderRule(Rule):
    """Judges each ``DataLoader(...)`` by its settings: its keywords, and those of a
    ``**loader_args`` bound in the same scope to ``dict(k=v, ...)`` or ``{"k": v, ...}``."""

    nodes = (ast.Call, ast.Assign)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.bound: dict[tuple[int, str], dict[str, ast.expr]] = {}

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    settings = _literal_settings(node.value)
                    key = (self.ctx.scope, target.id)
                    if settings is None:
                        self.bound.pop(key, None)
                    else:
                        self.bound[key] = settings
            return
        settings = self.loader(node)
        if settings is not None:
            assert isinstance(node, ast.Call)
            self.judge(node, settings)

    def judge(self, call: ast.Call, settings: dict[str, ast.expr]) -> None:
        """Report what is wrong with a loader made with ``settings``."""

    def loader(self, node: ast.AST) -> dict[str, ast.expr] | None:
        """The settings of ``node`` if it makes a DataLoader whose settings are all known."""
        if not isinstance(node, ast.Call) or self.ctx.resolve(node.func) not in _DATALOADERS:
            return None
        settings: dict[str, ast.expr] = {}
        for k in node.keywords:
            if k.arg is not None:
                settings[k.arg] = k.value
            elif isinstance(k.value, ast.Name) and (self.ctx.scope, k.value.id) in self.bound:
                settings.update(self.bound[(self.ctx.scope, k.value.id)])
            else:
                return None  # **kwargs from elsewhere: unknown settings
        return settings


def _literal_settings(value: ast.expr) -> dict[str, ast.expr] | None:
    """The keywords of ``dict(a=1, ...)`` or ``{"a": 1, ...}``; None for anything else."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict":
        if value.args or any(k.arg is None for k in value.keywords):
            return None
        return {k.arg: k.value for k in value.keywords if k.arg is not None}
    if isinstance(value, ast.Dict) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys
    ):
        return {
            k.value: v
            for k, v in zip(value.keys, value.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    return None


@register
class ShuffleWithoutGenerator(_DataLoaderRule):
    id = "TORCH001"
    name = "dataloader-shuffle-without-generator"
    title = "DataLoader(shuffle=True) without a generator"
    why = (
        "Without a generator the shuffle order is drawn from torch's global generator: "
        "unseeded, the order differs on every run; seeded, it still depends on every earlier "
        "draw (model initialization, dropout), so any change to the model reshuffles the data "
        "and a run resumed from a checkpoint sees another order."
    )
    fix = (
        "Give the loader its own seeded generator: "
        "DataLoader(ds, shuffle=True, generator=torch.Generator().manual_seed(seed))."
    )
    bad = (
        "from torch.utils.data import DataLoader\n"
        "loader = DataLoader(dataset, batch_size=32, shuffle=True)"
    )
    good = (
        "import torch\nfrom torch.utils.data import DataLoader\n"
        "loader = DataLoader(dataset, batch_size=32, shuffle=True,\n"
        "                    generator=torch.Generator().manual_seed(42))"
    )

    def judge(self, call: ast.Call, settings: dict[str, ast.expr]) -> None:
        shuffle = settings.get("shuffle")
        shuffled = shuffle is not None and not (
            isinstance(shuffle, ast.Constant) and not shuffle.value
        )
        if shuffled and "generator" not in settings and "sampler" not in settings:
            self.report(call, "DataLoader shuffles with torch's global generator")


@register
class WorkersWithoutInit(_DataLoaderRule):
    id = "TORCH002"
    name = "dataloader-workers-unseeded"
    title = "DataLoader workers whose seeds come from an unseeded generator"
    why = (
        "Each worker process seeds torch, random and NumPy from a base seed drawn from the "
        "loader's generator, or from torch's global one. With neither a generator, a "
        "worker_init_fn nor torch.manual_seed anywhere in the program, random augmentations "
        "differ on every run."
    )
    fix = (
        "Seed torch (torch.manual_seed) or pass generator=torch.Generator().manual_seed(seed); "
        "seed any other library the dataset uses in a worker_init_fn."
    )
    bad = "from torch.utils.data import DataLoader\nloader = DataLoader(dataset, num_workers=4)"
    good = (
        "import torch\nfrom torch.utils.data import DataLoader\n"
        "loader = DataLoader(dataset, num_workers=4,\n"
        "                    generator=torch.Generator().manual_seed(42))"
    )

    def judge(self, call: ast.Call, settings: dict[str, ast.expr]) -> None:
        workers = settings.get("num_workers")
        if workers is None or "worker_init_fn" in settings or "generator" in settings:
            return
        count = workers.value if isinstance(workers, ast.Constant) else None
        cpu_count = isinstance(workers, ast.Call) and self.ctx.resolve(workers.func) in _CPU_COUNTS
        if (isinstance(count, int) and count > 0) or cpu_count:
            self.report(call, "worker seeds come from torch's global generator", subject="torch")

    program_wide = True

    @classmethod
    def stands(cls, hit: Hit, facts: Facts) -> bool:
        return "torch" not in facts.seeded


@register
class CudnnBenchmark(Rule):
    id = "TORCH003"
    name = "cudnn-benchmark"
    title = "torch.backends.cudnn.benchmark = True"
    why = (
        "cuDNN autotuning times several convolution algorithms and keeps the fastest, which "
        "can differ from run to run; the algorithms do not give bit-identical results."
    )
    fix = "Leave it off for runs that must reproduce: torch.backends.cudnn.benchmark = False."
    bad = "import torch\ntorch.backends.cudnn.benchmark = True"
    good = "import torch\ntorch.backends.cudnn.benchmark = False"
    nodes = (ast.Assign,)

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Assign)
        if is_true(node.value) and any(
            self.ctx.resolve(t) == "torch.backends.cudnn.benchmark" for t in node.targets
        ):
            self.report(node, "cuDNN picks its algorithms by timing them, run by run")


@register
class CudaNotDeterministic(Rule):
    id = "TORCH004"
    name = "cuda-without-deterministic-mode"
    title = "A torch program uses CUDA but never enables deterministic algorithms"
    why = (
        "Many CUDA kernels (scatter/index_add, some convolutions and matrix products) add "
        "floating-point numbers in a different order on every run, so results differ in the "
        "last bits and training drifts apart."
    )
    fix = (
        "Call torch.use_deterministic_algorithms(True) at start-up (and set "
        "CUBLAS_WORKSPACE_CONFIG=:4096:8 in the environment), or "
        "torch.backends.cudnn.deterministic = True for cuDNN alone."
    )
    bad = "import torch\nmodel = model.to('cuda')"
    good = "import torch\ntorch.use_deterministic_algorithms(True)\nmodel = model.to('cuda')"
    nodes = (ast.Constant, ast.Call)
    once = True

    def visit(self, node: ast.AST) -> None:
        if "torch" not in self.ctx.modules:
            return
        if isinstance(node, ast.Constant):
            cuda = isinstance(node.value, str) and node.value.split(":")[0] == "cuda"
        else:
            assert isinstance(node, ast.Call)
            func = node.func
            cuda = isinstance(func, ast.Attribute) and func.attr == "cuda" and not node.args
            cuda = cuda and self.ctx.resolve(func) is None  # x.cuda(), not the torch.cuda module
        if cuda:
            self.report(node, "CUDA is used, and deterministic algorithms are never enabled")

    program_wide = True

    @classmethod
    def stands(cls, hit: Hit, facts: Facts) -> bool:
        return not facts.deterministic
