"""Rules about seeds: global generators never seeded, seeds from the clock, PYTHONHASHSEED."""

from __future__ import annotations

import ast

from samerun.doctor.context import Facts, FileContext, Hit
from samerun.doctor.facts import SEEDERS, is_number, keyword, seeded_with
from samerun.doctor.rule import Rule, register

_RANDOM_DRAWS = frozenset(
    "random uniform triangular randint randrange choice choices shuffle sample gauss "
    "normalvariate lognormvariate expovariate vonmisesvariate gammavariate betavariate "
    "paretovariate weibullvariate getrandbits randbytes binomialvariate".split()
)
_NUMPY_NOT_GLOBAL = frozenset(
    "seed default_rng RandomState Generator SeedSequence BitGenerator PCG64 PCG64DXSM MT19937 "
    "Philox SFC64 get_state set_state get_bit_generator set_bit_generator".split()
)
_TORCH_DRAWS = frozenset(
    "rand randn randint randperm rand_like randn_like randint_like bernoulli multinomial "
    "normal poisson".split()
)
_TORCH_INIT_FIXED = frozenset("calculate_gain constant_ ones_ zeros_ eye_ dirac_".split())
_TORCH_LAYERS = frozenset(
    "Linear Bilinear LazyLinear Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d "
    "ConvTranspose3d Embedding EmbeddingBag RNN LSTM GRU MultiheadAttention Transformer "
    "TransformerEncoderLayer TransformerDecoderLayer Dropout Dropout1d Dropout2d Dropout3d".split()
)
_TF_NOT_GLOBAL = ("set_seed", "Generator", "stateless_", "get_global_generator", "experimental")
#: Generators that, built without a seed, seed themselves from the operating system.
_GENERATORS = frozenset({"numpy.random.default_rng", "numpy.random.RandomState", "random.Random"})
#: Calls that make a generator or key from the seed they are given.
_KEYED = frozenset(
    {"jax.random.PRNGKey", "jax.random.key", "tensorflow.random.Generator.from_seed"}
)
_ENTROPY = frozenset(
    "time.time time.time_ns time.perf_counter time.perf_counter_ns time.monotonic "
    "time.monotonic_ns datetime.datetime.now datetime.datetime.utcnow datetime.datetime.today "
    "os.getpid os.urandom uuid.uuid1 uuid.uuid4 secrets.randbits secrets.randbelow "
    "secrets.token_bytes secrets.token_hex".split()
)
_LIBRARY_NAMES = {
    "random": "random",
    "numpy": "NumPy",
    "torch": "torch",
    "tensorflow": "TensorFlow",
}


def _global_draw(name: str, call: ast.Call) -> str | None:
    """The library whose global generator ``name(...)`` draws from, if it does."""
    module, _, attr = name.rpartition(".")
    if module == "random" and attr in _RANDOM_DRAWS:
        return "random"
    if module == "numpy.random" and attr not in _NUMPY_NOT_GLOBAL:
        return "numpy"
    if module == "torch" and attr in _TORCH_DRAWS and keyword(call, "generator") is None:
        return "torch"
    if module == "torch.nn.init" and attr not in _TORCH_INIT_FIXED:
        return "torch"
    if (
        module == "tensorflow.random"
        and not attr.startswith(_TF_NOT_GLOBAL)
        and keyword(call, "seed") is None
    ):
        return "tensorflow"
    return None


@register
class UnseededRandom(Rule):
    id = "RNG001"
    name = "unseeded-rng"
    title = "A random generator is used that the program never seeds"
    why = (
        "random, numpy.random, torch and tf.random draw from a global generator seeded from "
        "the operating system unless the program seeds it; every run then sees different "
        "numbers: other weights, other splits, other augmentations. The check is "
        "whole-program: a seed set in any file counts."
    )
    fix = (
        "Seed every library you use once, at start-up, from a recorded seed: "
        "random.seed(run.seed); np.random.seed(run.seed); torch.manual_seed(run.seed) "
        "(or transformers.set_seed / lightning.seed_everything). Better still, draw from an "
        "explicit generator: np.random.default_rng(run.seed)."
    )
    bad = "import numpy as np\nnoise = np.random.normal(size=10)"
    good = "import numpy as np\nnp.random.seed(42)\nnoise = np.random.normal(size=10)"
    nodes = (ast.Call,)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.layers_seen = False

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        name = self.ctx.resolve(node.func)
        if name is None:
            return
        if name in _GENERATORS and seeded_with(node) is None:
            self.report(node, f"{name}() without a seed is seeded from the operating system")
            return
        seed = seeded_with(node)
        if name in SEEDERS and isinstance(seed, ast.Attribute):
            # stands only where the option has no value by default (see FactCollector.finish)
            self.report(
                node,
                f"{name}() seeds only when --{seed.attr} is given: by default the program's "
                "generators are seeded from the operating system",
                subject=min(SEEDERS[name]),
            )
            return
        library = _global_draw(name, node)
        if library is not None:
            self.report(
                node,
                f"{name}() draws from {_LIBRARY_NAMES[library]}'s global generator, "
                "which this program never seeds",
                subject=library,
            )
        elif (
            name.startswith("torch.nn.")
            and name.rpartition(".")[2] in _TORCH_LAYERS
            and not self.layers_seen  # once per file: a model has many layers
        ):
            self.layers_seen = True
            self.report(
                node,
                f"{name}() initializes from torch's global generator (random weights, "
                "dropout masks), which this program never seeds",
                subject="torch",
            )

    program_wide = True

    @classmethod
    def stands(cls, hit: Hit, facts: Facts) -> bool:
        return not hit.subject or hit.subject not in facts.seeded


@register
class EntropySeed(Rule):
    id = "RNG002"
    name = "seed-from-clock"
    title = "A seed is derived from the time, the process id or OS entropy"
    why = (
        "A seed taken from time.time(), os.getpid() or os.urandom() is different on every "
        "run, so seeding with it changes nothing: the run cannot be repeated unless the "
        "value happened to be written down. The same holds for a jax.random.PRNGKey, a "
        "tf.random.Generator.from_seed or a torch generator's manual_seed made from one."
    )
    fix = (
        "Use a fixed seed from the configuration, or let samerun choose and record one "
        "(`samerun record --seed 42`, or run.seed from samerun.start_run())."
    )
    bad = "import random, time\nrandom.seed(int(time.time()))"
    good = "import random\nrandom.seed(42)"
    nodes = (ast.Call, ast.Assign, ast.AnnAssign)

    def visit(self, node: ast.AST) -> None:
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            name = self.ctx.resolve(node.func)
            takes_seed = name in SEEDERS or name in _GENERATORS or name in _KEYED
            seed = seeded_with(node) if takes_seed or _manual_seed(node) else None
            values = [seed] if seed is not None else []
            values += [
                k.value for k in node.keywords if k.arg and _seedy(k.arg) and k.value is not seed
            ]
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and _seedy(t.id) for t in targets):
                values = [node.value]
        for value in values:
            source = self._entropy(value)
            if source is not None:
                self.report(value, f"the seed comes from {source}(), so it differs on every run")

    def _entropy(self, value: ast.expr) -> str | None:
        for sub in ast.walk(value):
            if isinstance(sub, ast.Call):
                name = self.ctx.resolve(sub.func)
                if name in _ENTROPY:
                    return name
        return None


def _manual_seed(call: ast.Call) -> bool:
    """``generator.manual_seed(s)``: seeding a torch generator object."""
    return isinstance(call.func, ast.Attribute) and call.func.attr == "manual_seed"


def _seedy(name: str) -> bool:
    lowered = name.lower()
    return "seed" in lowered or lowered == "random_state"


@register
class HashSeedInProcess(Rule):
    id = "RNG003"
    name = "pythonhashseed-in-process"
    title = "PYTHONHASHSEED is set from inside the running program"
    why = (
        "Python reads PYTHONHASHSEED once, when the interpreter starts. Setting it in "
        "os.environ afterwards leaves this process's string hashing (and so set and dict-of-set "
        "order) randomized; only child processes see the new value."
    )
    fix = (
        "Set it before Python starts: in the shell or CI environment, or run the script "
        "through `samerun record`, which pins it for the command."
    )
    bad = "import os\nos.environ['PYTHONHASHSEED'] = '0'"
    good = "# in the shell: PYTHONHASHSEED=0 python train.py"
    nodes = (ast.Assign, ast.Call)

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and self.ctx.resolve(target.value) == "os.environ"
                    and _is_hashseed(target.slice)
                ):
                    self._hit(target)
            return
        assert isinstance(node, ast.Call)
        name = self.ctx.resolve(node.func)
        if name in ("os.environ.setdefault", "os.putenv") and node.args:
            if _is_hashseed(node.args[0]):
                self._hit(node)
        elif name == "os.environ.update":
            keys: list[object] = [k.arg for k in node.keywords]
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    keys += [k.value for k in arg.keys if isinstance(k, ast.Constant)]
            if "PYTHONHASHSEED" in keys:
                self._hit(node)

    def _hit(self, node: ast.AST) -> None:
        self.report(
            node,
            "setting PYTHONHASHSEED here does not change this interpreter's hashing, "
            "which was fixed at start-up",
        )


def _is_hashseed(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == "PYTHONHASHSEED"


#: What a string hash decides when it is used this way.
_BUCKETING = (ast.Mod, ast.BitAnd, ast.FloorDiv, ast.RShift)
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@register
class StringHash(Rule):
    id = "RNG005"
    name = "string-hash-split"
    title = "hash() of a string decides a split, a bucket, a sample, a seed or an order"
    why = (
        "Python randomizes the hash of str and bytes (and of tuples holding them) per process "
        "unless PYTHONHASHSEED is set before it starts. A split by hash(id) % 10, a seed made "
        "from hash(name) or a sort by hash puts different items on each side, draws other "
        "numbers, or orders differently on every run."
    )
    fix = (
        "Use a stable digest: samerun.split.stable_split(ids, ...) for splits, or a keyed "
        "digest such as int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "
        "'big') where a number is needed."
    )
    bad = "def split(ids):\n    return [i for i in ids if hash(i) % 10 < 8]"
    good = (
        "import hashlib\n\ndef bucket(i):\n"
        "    return int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), 'big')\n"
        "\ndef split(ids):\n    return [i for i in ids if bucket(i) % 10 < 8]"
    )
    nodes = (ast.Call, ast.Name)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        # names bound to a hash: the hash's line and the assignment
        self.hashes: dict[tuple[int, str], tuple[int, ast.AST]] = {}

    def visit(self, node: ast.AST) -> None:
        ctx = self.ctx
        if isinstance(node, ast.Name):
            if not self.hashes:
                return
            bound = self.hashes.get((ctx.scope, node.id))
            if bound is not None and isinstance(node.ctx, ast.Load):
                self._judge(node, bound[0])
            elif bound is not None and (not ctx.parents or ctx.parents[-1] is not bound[1]):
                del self.hashes[(ctx.scope, node.id)]  # rebound to something else
            return
        assert isinstance(node, ast.Call)
        sort_key = keyword(node, "key")
        if sort_key is not None and self._hashes(sort_key):
            self.report(node, "sorting by hash() orders strings differently on every run")
            return
        if ctx.resolve(node.func) != "hash" or len(node.args) != 1 or is_number(node.args[0]):
            return
        if any(isinstance(s, ast.FunctionDef) and s.name == "__hash__" for s in ctx.scopes):
            return  # an object's own hash, for sets and dicts
        self._judge(node, node.lineno)

    def _hashes(self, key: ast.expr) -> bool:
        body = key.body if isinstance(key, ast.Lambda) else key
        if isinstance(body, ast.Call):
            body = body.func
        return self.ctx.resolve(body) == "hash"

    def _judge(self, node: ast.expr, line: int) -> None:
        """Report ``node`` (a hash, or a name holding one made on ``line``) if what it
        decides is a bucket, a split or a seed; follow it when it is bound to a name."""
        use = self._use(node, line)
        if use is not None:
            where = "" if line == node.lineno else f" (line {line})"
            self.report(
                node,
                f"hash() of a string{where} differs from run to run (PYTHONHASHSEED), and it {use}",
                origin=line,
            )

    def _use(self, node: ast.expr, line: int) -> str | None:
        child: ast.AST = node
        for parent in reversed(self.ctx.parents):
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, _BUCKETING):
                return "picks a bucket here"
            if isinstance(parent, ast.Compare):
                ordering = any(isinstance(op, _ORDERING) for op in parent.ops)
                if ordering or any(is_number(c) for c in (parent.left, *parent.comparators)):
                    return "decides a split here"
                return None  # equal hashes within one process
            if isinstance(parent, ast.keyword) and parent.arg and _seedy(parent.arg):
                return "is used as a seed here"
            if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
                target = parent.targets[0]
                if isinstance(target, ast.Name):
                    self.hashes[(self.ctx.scope, target.id)] = (line, parent)
                return None
            if isinstance(parent, ast.Call) and child is not parent.func:
                name = self.ctx.resolve(parent.func)
                if name in SEEDERS or name in _GENERATORS or name in _KEYED:
                    return "is used as a seed here"
                if isinstance(parent.func, ast.Attribute) and parent.func.attr == "manual_seed":
                    return "is used as a seed here"
                if name not in ("abs", "int"):
                    return None
            elif not isinstance(parent, ast.BinOp | ast.UnaryOp | ast.keyword):
                return None
            child = parent
        return None
