"""The training loop behind :class:`~flood.sparse_nn.SparsePointCloudClassifier`.

One function, :func:`train_pruned`, trains a network with Adam (constant or cosine learning
rate), class-weighted cross-entropy and optional augmentation while applying one pruning
method, records a per-epoch history, stops a run early when the validation score has not
improved for ``patience`` epochs and restores the weights of the best validation epoch among
those that already have the target sparsity. Sparse model soups live in
:mod:`flood.sparse_nn._soups`; they reuse :func:`fit_run`.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from flood.sparse_nn._nm import apply_nm_sparsity
from flood.sparse_nn._pruning import DEFAULT_SCOPE, magnitude_prune, random_prune
from flood.sparse_nn._report import sparsity_report
from flood.sparse_nn._schedules import (
    CubicSparsitySchedule,
    GradualMagnitudePruner,
    IterativeMagnitudePruner,
)

__all__ = [
    "LR_SCHEDULES",
    "MONITORS",
    "PRUNING_PARAMS",
    "RunConfig",
    "cosine_factor",
    "evaluate",
    "fit_run",
    "history_row",
    "predict_logits",
    "recalibrate_batchnorm",
    "round_sparsity",
    "state_copy",
    "train_pruned",
]

#: Keys accepted in ``pruning_params`` per pruning method, with their defaults
#: (None: derived from ``epochs``).
PRUNING_PARAMS: dict[str | None, dict] = {
    None: {},
    "magnitude": {"scope": DEFAULT_SCOPE, "prune_epoch": None},
    "gradual": {"scope": DEFAULT_SCOPE, "begin": 0.1, "end": 0.6, "n_pruning_steps": 10},
    "random": {},
    "erk": {},
    "nm": {"m": 4, "srste_lambda": 2e-4},
    "imp": {"scope": DEFAULT_SCOPE, "rounds": 3, "rewind_epoch": None},
    "soup": {"scope": DEFAULT_SCOPE, "rounds": 3, "ingredients": 3},
}

#: What picks the kept epoch and drives early stopping: validation accuracy (ties broken by
#: loss) or validation loss alone (smoother on small validation sets).
MONITORS = ("accuracy", "loss")
#: Learning-rate schedules of one training run: constant, or cosine annealing to 0 over the
#: run's ``epochs`` (stepped once per epoch), restarted where one-shot pruning starts a
#: fine-tuning phase (:func:`cosine_factor`).
LR_SCHEDULES = ("constant", "cosine")


def _batches(n: int, batch_size: int, generator, shuffle: bool = True) -> list[torch.Tensor]:
    """Index batches; a last batch of one sample joins the one before (BatchNorm)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    chunks = list(order.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) == 1:
        chunks[-2:] = [torch.cat(chunks[-2:])]
    return chunks


def _n_batches(n: int, batch_size: int) -> int:
    count = math.ceil(n / batch_size)
    return count - 1 if count > 1 and n % batch_size == 1 else count


@dataclass
class RunConfig:
    """What every training run of one fit shares (data, loss, optimizer settings, hooks).

    ``X`` holds the training clouds as stored (a pool of points per cloud when ``augment``
    resamples); ``view`` is what BatchNorm recalibration and soups' training-set evaluation
    see (``X`` itself when None). ``augment(batch, generator)`` maps a batch of stored clouds
    to the network's input. ``validation`` is (clouds, labels) or None.
    """

    X: torch.Tensor
    y: torch.Tensor
    validation: tuple[torch.Tensor, torch.Tensor] | None
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    class_weight: torch.Tensor
    generator: torch.Generator
    augment: Callable | None = None
    view: torch.Tensor | None = None
    lr_schedule: str = "constant"
    patience: int | None = None
    monitor: str = "accuracy"
    progress: object = None

    def __post_init__(self):
        if self.view is None:
            self.view = self.X


def _train_epoch(model, optimizer, cfg: RunConfig) -> tuple[float, float]:
    model.train()
    total, correct = 0.0, 0
    for index in _batches(len(cfg.X), cfg.batch_size, cfg.generator):
        index = index.to(cfg.X.device)
        batch = cfg.X[index]
        if cfg.augment is not None:
            batch = cfg.augment(batch, cfg.generator)
        optimizer.zero_grad(set_to_none=True)
        logits = model(batch)
        loss = F.cross_entropy(logits, cfg.y[index], weight=cfg.class_weight)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
        correct += int((logits.argmax(dim=1) == cfg.y[index]).sum())
    return total / len(cfg.X), correct / len(cfg.X)


def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits of shape (n_clouds, n_classes) for clouds of shape (n_clouds, n_points, 3)."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def recalibrate_batchnorm(model: nn.Module, X: torch.Tensor, batch_size: int) -> None:
    """Recompute BatchNorm running statistics as exact averages over ``X`` (no gradients).

    Running averages with momentum lag far behind weights that change fast (few steps per
    epoch, pruning events, averaged weights), which makes eval-mode outputs poor; one pass
    over the training clouds fixes them.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    with torch.no_grad():
        for index in _batches(len(X), batch_size, None, shuffle=False):
            model(X[index.to(X.device)])
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.eval()


def evaluate(model, X, y, weight, batch_size) -> tuple[float, float]:
    """(mean weighted cross-entropy, accuracy) of ``model`` in eval mode on ``(X, y)``."""
    logits = predict_logits(model, X, batch_size)
    loss = float(F.cross_entropy(logits, y, weight=weight))
    return loss, float((logits.argmax(dim=1) == y).float().mean())


def cosine_factor(epoch: int, epochs: int, restart: int = 0) -> float:
    """Cosine learning-rate factor of ``epoch`` in a run of ``epochs``, restarted at ``restart``.

    The epochs ``[0, restart)`` and ``[restart, epochs)`` each anneal from 1 to 0 along half
    a cosine (a warm restart, Loshchilov & Hutter 2017); ``restart=0`` is one cosine over
    the run. One-shot pruning restarts at its prune epoch, so the pruned network fine-tunes
    from the full learning rate (learning-rate rewinding, Renda et al. 2020) rather than from
    what is left of one annealing over the whole run.

    Examples
    --------
    >>> [round(cosine_factor(e, 6, restart=2), 2) for e in range(7)]
    [1.0, 0.5, 1.0, 0.85, 0.5, 0.15, 0.0]
    """
    start, span = (0, restart) if epoch < restart else (restart, epochs - restart)
    return 0.5 * (1.0 + math.cos(math.pi * (epoch - start) / span))


def _schedule(sparsity, options, epochs, n_batches) -> CubicSparsitySchedule:
    total = epochs * n_batches
    begin = math.floor(options["begin"] * total)
    end = min(total, max(begin + 1, math.floor(options["end"] * total)))
    n_steps = max(1, min(options["n_pruning_steps"], end - begin))
    return CubicSparsitySchedule(
        sparsity, begin_step=begin, n_pruning_steps=n_steps, frequency=(end - begin) // n_steps
    )


def history_row(model, cfg, history, round_, scores, seconds, *, soup=False) -> dict:
    """The next row of ``history``: training (loss, accuracy), then validation measured.

    ``scores`` None: the training scores are measured too, on ``cfg.view``. BatchNorm
    statistics are recomputed on ``cfg.view`` before any measurement.
    """
    if scores is None or cfg.validation is not None:
        recalibrate_batchnorm(model, cfg.view, cfg.batch_size)
    if scores is None:
        scores = evaluate(model, cfg.view, cfg.y, cfg.class_weight, cfg.batch_size)
    row = {
        "epoch": len(history),
        "round": round_,
        "loss": scores[0],
        "accuracy": scores[1],
        "val_loss": np.nan,
        "val_accuracy": np.nan,
        "sparsity": sparsity_report(model).sparsity,
        "time": seconds,
        "soup": soup,
    }
    if cfg.validation is not None:
        row["val_loss"], row["val_accuracy"] = evaluate(
            model, *cfg.validation, cfg.class_weight, cfg.batch_size
        )
    return row


def round_sparsity(sparsity: float, round_: int, rounds: int) -> float:
    """Sparsity after round ``round_`` of ``rounds`` pruning rounds that each remove the same
    fraction of the remaining weights and end on ``sparsity`` (IMP and soups)."""
    return 1.0 - (1.0 - sparsity) ** (round_ / rounds)


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model.state_dict()``."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit_run(
    model: nn.Module,
    cfg: RunConfig,
    history: list[dict],
    *,
    round_: int = 0,
    before_epoch: Callable[[int], None] | None = None,
    after_epoch: Callable[[int], None] | None = None,
    eligible: Callable[[int], bool] | None = None,
    attach: Callable[[torch.optim.Optimizer], None] | None = None,
    restart: int = 0,
) -> tuple | None:
    """One training run with a fresh Adam optimizer; appends one history row per epoch.

    With ``cfg.lr_schedule == "cosine"`` the learning rate follows :func:`cosine_factor`,
    restarted at epoch ``restart`` (0: one cosine over the run).

    Returns ``(score, state, epoch)`` of the best eligible epoch (``eligible(epoch)``; all by
    default), scored by (validation accuracy, -validation loss), or by -validation loss alone
    with ``cfg.monitor == "loss"``, or, without validation, by recency; None if no epoch was
    eligible. With ``cfg.patience``, the run stops once that many eligible epochs in a row
    have not beaten the best.
    """
    optimizer = torch.optim.Adam(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    scheduler = None
    if cfg.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: cosine_factor(epoch, cfg.epochs, restart)
        )
    if attach is not None:
        attach(optimizer)
    best, stale = None, 0
    for epoch in range(cfg.epochs):
        if before_epoch is not None:
            before_epoch(epoch)
        start = time.perf_counter()
        loss, accuracy = _train_epoch(model, optimizer, cfg)
        seconds = time.perf_counter() - start
        if scheduler is not None:
            scheduler.step()
        if after_epoch is not None:
            after_epoch(epoch)
        row = history_row(model, cfg, history, round_, (loss, accuracy), seconds)
        history.append(row)
        if cfg.progress is not None:
            cfg.progress.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)
            cfg.progress.update(1)
        if eligible is not None and not eligible(epoch):
            continue
        if cfg.validation is None:
            score = (row["epoch"],)
        elif cfg.monitor == "loss":
            score = (-row["val_loss"],)
        else:
            score = (row["val_accuracy"], -row["val_loss"])
        if best is None or score > best[0]:
            best, stale = (score, state_copy(model), row["epoch"]), 0
        else:
            stale += 1
        if cfg.patience is not None and stale >= cfg.patience:
            if cfg.progress is not None:
                cfg.progress.update(cfg.epochs - 1 - epoch)
            break
    return best


def train_pruned(
    model: nn.Module,
    cfg: RunConfig,
    *,
    pruning: str | None,
    sparsity: float,
    options: dict,
) -> tuple[list[dict], int]:
    """Train ``model`` in place under one pruning method; restore the best eligible epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Network mapping (batch, n_points, 3) to (batch, n_classes), on the data's device.
    cfg : RunConfig
        Training data (clouds and encoded labels), validation data (or None: the last epoch
        is kept), optimizer settings, augmentation, schedule, patience and progress bar.
    pruning : {None, "magnitude", "gradual", "random", "erk", "nm", "imp"}
        Method; ``options`` holds its :data:`PRUNING_PARAMS` with defaults filled in.
        ``"imp"`` trains ``rounds + 1`` runs. (``"soup"`` is
        :func:`~flood.sparse_nn._soups.train_soup`.)
    sparsity : float
        Target fraction of zero prunable weights (for ``"nm"``: ``1 - n / m``).

    Returns
    -------
    history : list of dict
        Per epoch: epoch, round, loss, accuracy, val_loss, val_accuracy, sparsity, time and
        soup (False: soups add rows for their averaged models).
    best_epoch : int
        Index into ``history`` of the restored weights.
    """
    history: list[dict] = []
    if pruning in ("random", "erk"):
        distribution = "uniform" if pruning == "random" else "erk"
        random_prune(model, sparsity, distribution=distribution, generator=cfg.generator)
    elif pruning == "nm":
        n = round(options["m"] * (1.0 - sparsity))
        apply_nm_sparsity(model, n, options["m"], srste_lambda=options["srste_lambda"])
    if pruning == "imp":
        best = _train_imp(model, cfg, history, sparsity, options)
    elif pruning == "gradual":
        schedule = _schedule(sparsity, options, cfg.epochs, _n_batches(len(cfg.X), cfg.batch_size))
        holder = []

        def attach(optimizer):
            holder.append(GradualMagnitudePruner(model, schedule, scope=options["scope"]))
            holder[0].attach(optimizer)

        best = fit_run(model, cfg, history, attach=attach, eligible=lambda _: holder[0].finished)
    elif pruning == "magnitude":
        epoch0 = options["prune_epoch"]

        def before(epoch):
            if epoch == epoch0:
                magnitude_prune(model, sparsity, scope=options["scope"])

        best = fit_run(
            model, cfg, history, before_epoch=before, eligible=lambda e: e >= epoch0, restart=epoch0
        )
    else:
        best = fit_run(model, cfg, history)
    if best is None:  # pruning that never finished (too few steps, or stopped early): finish
        magnitude_prune(model, sparsity, scope=options["scope"])
        best = ((), None, len(history) - 1)
    if best[1] is not None:
        model.load_state_dict(best[1])
    if cfg.validation is None or best[1] is None:
        recalibrate_batchnorm(model, cfg.view, cfg.batch_size)
    return history, best[2]


def _train_imp(model, cfg, history, sparsity, options):
    """Iterative magnitude pruning with rewinding: ``rounds + 1`` runs; the last one's best."""
    imp = IterativeMagnitudePruner(model, scope=options["scope"])
    rounds, rewind = options["rounds"], options["rewind_epoch"]
    if rewind == 0:
        imp.save_rewind_point()
    best = None
    for round_ in range(rounds + 1):

        def after(epoch, round_=round_):
            if round_ == 0 and epoch + 1 == rewind:
                imp.save_rewind_point()

        def eligible(epoch, round_=round_):  # never stop before the rewind point is saved
            return round_ > 0 or epoch + 1 >= rewind

        best = fit_run(model, cfg, history, round_=round_, after_epoch=after, eligible=eligible)
        if round_ < rounds:
            if cfg.patience is not None and best is not None:
                model.load_state_dict(best[1])  # stopped early: prune the round's best
            imp.prune_round(round_sparsity(sparsity, round_ + 1, rounds))
            imp.rewind()
    return best
