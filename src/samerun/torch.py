"""torch helpers: DataLoader seeding that does not depend on other draws, and model tracing.

``import samerun`` never imports torch; this module imports it when one of its functions runs::

    loader = DataLoader(data, shuffle=True, num_workers=2, generator=samerun.torch.generator(),
                        worker_init_fn=samerun.torch.worker_init_fn)
    with samerun.torch.trace_model(model, every=10):
        train(model, loader)
"""

from __future__ import annotations

import random
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

from samerun._exceptions import UsageError
from samerun.seeding import current_seed, derive_seed

if TYPE_CHECKING:
    import torch


def generator(seed: int | None = None) -> torch.Generator:
    """A CPU generator for a DataLoader's ``generator=``: batch order then depends on this seed
    alone, not on how many numbers the code drew from torch's global RNG before.

    It is seeded with ``derive_seed(seed, "torch.generator")`` (so it does not replay the global
    RNG's stream); ``seed`` defaults to the current seed (see :func:`samerun.seed_everything`).
    """
    import torch

    base = current_seed() if seed is None else seed
    if base is None:
        raise UsageError(
            "no seed to build a generator from: pass one, or call samerun.seed_everything() first"
        )
    return torch.Generator().manual_seed(derive_seed(base, "torch.generator"))


def worker_init_fn(worker_id: int) -> None:
    """A DataLoader ``worker_init_fn`` that seeds ``random`` and NumPy in each worker.

    The seed is derived from the worker's torch seed, which the loader draws from its
    ``generator`` for each worker and each epoch: workers get distinct streams, epochs get new
    ones, and all of them come back in a rerun.
    """
    import torch

    seed = derive_seed(torch.initial_seed() % 2**64, "worker")
    random.seed(seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(seed)


class ModelTrace:
    """Fingerprints a model's module outputs, parameters and gradients every ``every`` steps.

    Step n is the model's n-th forward call in training mode (from 0), which matches
    ``for step, batch in enumerate(loader)``; eval-mode calls are not traced. Per traced step it
    records each module's forward output (``output <name>``, in the order modules finish, the
    model itself last under its class name), then each parameter after the optimizer step
    (``param <name>``), and, with ``grads=True``, each gradient before it (``grad <name>``).
    """

    def __init__(self, model: torch.nn.Module, every: int, grads: bool, keep: int) -> None:
        from torch.optim.optimizer import (
            register_optimizer_step_post_hook,
            register_optimizer_step_pre_hook,
        )

        if every < 1:
            raise UsageError(f"trace_model(every={every}): trace every 1 or more steps")
        self.model = model
        self.every = every
        self.keep = keep
        self.step = -1  # the step being run; -1 before the first
        self._tracing = False
        self._params_due = False
        self._param_ids = {id(p) for p in model.parameters()}
        root = type(model).__name__
        self._modules = [(name or root, module) for name, module in model.named_modules()]
        self._output_hooks: list[Any] = []  # on every module, only while a step is traced
        self._handles = [model.register_forward_pre_hook(self._begin)]
        self._handles.append(register_optimizer_step_post_hook(self._after_optimizer))
        if grads:
            self._handles.append(register_optimizer_step_pre_hook(self._before_optimizer))

    def remove(self) -> None:
        """Stop tracing: take every hook off the model and the optimizers."""
        for handle in (*self._handles, *self._output_hooks):
            handle.remove()
        self._handles.clear()
        self._output_hooks.clear()

    def __enter__(self) -> ModelTrace:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.remove()

    def _record(self, kind: str, values: dict[str, Any]) -> None:
        from samerun.tracking import active_run, start_run

        (active_run() or start_run()).trace_values(self.step, values, kind=kind, keep=self.keep)

    def _begin(self, module: torch.nn.Module, _args: Any) -> None:
        tracing = module.training and (self.step + 1) % self.every == 0
        if module.training:
            self.step += 1
            self._params_due = tracing
        if tracing and not self._output_hooks:  # hooks cost even when idle: only when needed
            self._output_hooks = [
                m.register_forward_hook(partial(self._output, name)) for name, m in self._modules
            ]
        elif not tracing and self._output_hooks:
            for handle in self._output_hooks:
                handle.remove()
            self._output_hooks = []
        self._tracing = tracing

    def _output(self, name: str, _module: torch.nn.Module, _args: Any, output: Any) -> None:
        if self._tracing:
            self._record("output", {name: output})

    def _steps_model(self, optimizer: torch.optim.Optimizer) -> bool:
        groups = optimizer.param_groups
        return any(id(p) in self._param_ids for group in groups for p in group["params"])

    def _before_optimizer(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        if self._params_due and self._steps_model(optimizer):
            named = self.model.named_parameters()
            self._record("grad", {n: p.grad for n, p in named if p.grad is not None})

    def _after_optimizer(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        if self._params_due and self._steps_model(optimizer):
            self._params_due = False
            self._record("param", dict(self.model.named_parameters()))


def trace_model(
    model: torch.nn.Module, *, every: int = 1, grads: bool = False, keep: int = 0
) -> ModelTrace:
    """Trace ``model`` into the active run every ``every`` steps (see :class:`ModelTrace`).

    Only fingerprints are kept by default; ``keep=N`` also keeps the values of outputs and
    parameters of up to N elements, so that ``samerun trace diff`` can say by how much they
    changed (at a cost per step). Use as a context manager, or call ``.remove()`` to stop.
    """
    return ModelTrace(model, every, grads, keep)
