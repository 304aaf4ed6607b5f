"""Pruning during training: the cubic gradual schedule and iterative pruning with rewinding."""

from dataclasses import dataclass

import torch
from torch import nn

from flood.sparse_nn._pruning import (
    DEFAULT_SCOPE,
    current_mask,
    magnitude_prune,
    prunable_layers,
)

__all__ = [
    "CubicSparsitySchedule",
    "GradualMagnitudePruner",
    "IterativeMagnitudePruner",
    "cubic_sparsity",
]


def cubic_sparsity(
    step: int,
    *,
    final_sparsity: float,
    initial_sparsity: float = 0.0,
    begin_step: int = 0,
    n_pruning_steps: int = 10,
    frequency: int = 1,
) -> float:
    """Zhu & Gupta's (2017) cubic sparsity schedule.

    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3`` for ``t0 <= t <= t0 + n dt``,
    ``s_i`` before and ``s_f`` after.

    Parameters
    ----------
    step : int
        Training step ``t`` (optimizer steps taken).
    final_sparsity, initial_sparsity : float in [0, 1]
        ``s_f`` and ``s_i``.
    begin_step : int, default=0
        ``t0``.
    n_pruning_steps : int, default=10
        ``n``, the number of pruning events after ``t0``.
    frequency : int, default=1
        ``dt``, steps between pruning events.

    Returns
    -------
    float
        Target sparsity at ``step``.

    Examples
    --------
    >>> round(cubic_sparsity(5, final_sparsity=0.8, n_pruning_steps=10), 6)
    0.7
    """
    progress = (step - begin_step) / (n_pruning_steps * frequency)
    if progress <= 0.0:
        return initial_sparsity
    if progress >= 1.0:
        return final_sparsity
    return final_sparsity + (initial_sparsity - final_sparsity) * (1.0 - progress) ** 3


@dataclass(frozen=True)
class CubicSparsitySchedule:
    """The cubic schedule of :func:`cubic_sparsity` as an object; call it with a step.

    Examples
    --------
    >>> schedule = CubicSparsitySchedule(0.9, begin_step=100, n_pruning_steps=4, frequency=50)
    >>> schedule.end_step, schedule(300), schedule.is_pruning_step(150)
    (300, 0.9, True)
    """

    final_sparsity: float
    initial_sparsity: float = 0.0
    begin_step: int = 0
    n_pruning_steps: int = 10
    frequency: int = 1

    def __post_init__(self) -> None:
        for name in ("final_sparsity", "initial_sparsity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"The '{name}' parameter must be in [0, 1]. Got {value!r}.")
        for name, low in (("begin_step", 0), ("n_pruning_steps", 1), ("frequency", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"The '{name}' parameter must be an int >= {low}. Got {value!r}.")

    @property
    def end_step(self) -> int:
        """Step of the last pruning event, ``t0 + n * dt``."""
        return self.begin_step + self.n_pruning_steps * self.frequency

    def is_pruning_step(self, step: int) -> bool:
        """Whether ``step`` is one of ``t0, t0 + dt, ..., t0 + n dt``."""
        offset = step - self.begin_step
        return 0 <= offset <= self.n_pruning_steps * self.frequency and offset % self.frequency == 0

    def __call__(self, step: int) -> float:
        return cubic_sparsity(
            step,
            final_sparsity=self.final_sparsity,
            initial_sparsity=self.initial_sparsity,
            begin_step=self.begin_step,
            n_pruning_steps=self.n_pruning_steps,
            frequency=self.frequency,
        )


class GradualMagnitudePruner:
    """Gradual magnitude pruning (Zhu & Gupta 2017): prune to ``schedule(t)`` every ``dt`` steps.

    Call :meth:`step` after every optimizer step, or let :meth:`attach` do it through an
    optimizer step hook.

    Parameters
    ----------
    model : torch.nn.Module
        Model pruned in place.
    schedule : CubicSparsitySchedule
        Target sparsity per step.
    scope : {"lamp", "global", "layer"}, default="lamp"
        As in :func:`~flood.sparse_nn.magnitude_prune`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(10, 10)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> pruner = GradualMagnitudePruner(model, CubicSparsitySchedule(0.5, n_pruning_steps=2))
    >>> _ = pruner.attach(optimizer)
    >>> for _ in range(3):
    ...     model(torch.ones(1, 10)).sum().backward()
    ...     optimizer.step()
    >>> pruner.step_count, int((model.weight == 0).sum())
    (3, 50)
    """

    def __init__(
        self, model: nn.Module, schedule: CubicSparsitySchedule, *, scope: str = DEFAULT_SCOPE
    ) -> None:
        self.model, self.schedule, self.scope = model, schedule, scope
        self.step_count = 0
        self.sparsity = 0.0
        if schedule.is_pruning_step(0):
            self._prune()

    def _prune(self) -> None:
        self.sparsity = self.schedule(self.step_count)
        magnitude_prune(self.model, self.sparsity, scope=self.scope)

    def step(self) -> float:
        """Count one optimizer step; prune if it is a pruning step. Returns the sparsity."""
        self.step_count += 1
        if self.schedule.is_pruning_step(self.step_count):
            self._prune()
        return self.sparsity

    @property
    def finished(self) -> bool:
        """Whether the final sparsity has been reached."""
        return self.step_count >= self.schedule.end_step

    def attach(self, optimizer: torch.optim.Optimizer):
        """Call :meth:`step` after every ``optimizer.step()``; returns the removable handle."""
        return optimizer.register_step_post_hook(lambda *_: self.step())


class IterativeMagnitudePruner:
    """Iterative magnitude pruning with weight rewinding (lottery tickets; Frankle et al.).

    Save the weights at an early iteration ``k`` with :meth:`save_rewind_point`, train, then
    alternate :meth:`prune_round` (remove ``rate`` of the remaining weights by magnitude) and
    :meth:`rewind` (reset the survivors, and with ``rewind_all`` every other parameter and
    buffer, to the saved values) before training again.

    Parameters
    ----------
    model : torch.nn.Module
        Model pruned in place.
    rate : float in (0, 1), default=0.2
        Fraction of the remaining prunable weights removed per round.
    scope : {"lamp", "global", "layer"}, default="lamp"
        As in :func:`~flood.sparse_nn.magnitude_prune`.
    rewind_all : bool, default=True
        Rewind biases, norms and buffers too, not only the prunable weights.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(10, 10)
    >>> imp = IterativeMagnitudePruner(model, rate=0.5)
    >>> imp.save_rewind_point()
    >>> imp.prune_round(), imp.prune_round()
    (0.5, 0.75)
    >>> imp.rewind()
    >>> int((model.weight == 0).sum())
    75
    """

    def __init__(
        self, model: nn.Module, rate: float = 0.2, *, scope: str = DEFAULT_SCOPE, rewind_all=True
    ) -> None:
        if not 0.0 < rate < 1.0:
            raise ValueError(f"The 'rate' parameter must be in (0, 1). Got {rate!r} instead.")
        self.model, self.rate, self.scope, self.rewind_all = model, rate, scope, rewind_all
        self.rounds = 0
        self.rewind_state: dict[str, torch.Tensor] | None = None

    def save_rewind_point(self) -> None:
        """Remember the current weights (masked-out ones included) to rewind to."""
        state = self.model.state_dict()
        self.rewind_state = {
            key.removesuffix("_orig"): value.detach().clone()
            for key, value in state.items()
            if not key.endswith("_mask")
        }

    def sparsity(self) -> float:
        """Fraction of the prunable weights removed by the masks so far."""
        masks = [current_mask(module) for _, module in prunable_layers(self.model)]
        return 1.0 - sum(float(m.sum()) for m in masks) / sum(m.numel() for m in masks)

    def prune_round(self, sparsity: float | None = None) -> float:
        """Remove ``rate`` of the remaining weights by magnitude; returns the new sparsity.

        ``sparsity``, if given, is the round's target instead (a schedule of rounds that
        lands exactly on a final sparsity).
        """
        target = 1.0 - (1.0 - self.sparsity()) * (1.0 - self.rate) if sparsity is None else sparsity
        magnitude_prune(self.model, target, scope=self.scope)
        self.rounds += 1
        return target

    def rewind(self) -> None:
        """Reset the weights to the rewind point; the masks stay."""
        if self.rewind_state is None:
            raise ValueError("Call save_rewind_point() before rewind().")
        prunable = {
            f"{name}.weight" if name else "weight" for name, _ in prunable_layers(self.model)
        }
        with torch.no_grad():
            for key, value in self.model.state_dict(keep_vars=True).items():
                if key.endswith("_mask"):
                    continue
                plain = key.removesuffix("_orig")
                if self.rewind_all or plain in prunable:
                    value.copy_(self.rewind_state[plain])
