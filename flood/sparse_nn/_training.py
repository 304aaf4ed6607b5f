"""The training loop behind :class:`~flood.sparse_nn.SparsePointCloudClassifier`.

One function, :func:`train_pruned`, trains a network with Adam and class-weighted cross-entropy
while applying one pruning method, records a per-epoch history and restores the weights of the
best validation epoch among those that already have the target sparsity.
"""

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from flood.sparse_nn._nm import apply_nm_sparsity
from flood.sparse_nn._pruning import magnitude_prune, random_prune
from flood.sparse_nn._report import sparsity_report
from flood.sparse_nn._schedules import (
    CubicSparsitySchedule,
    GradualMagnitudePruner,
    IterativeMagnitudePruner,
)

__all__ = ["PRUNING_PARAMS", "predict_logits", "recalibrate_batchnorm", "train_pruned"]

#: Keys accepted in ``pruning_params`` per pruning method, with their defaults
#: (None: derived from ``epochs``).
PRUNING_PARAMS: dict[str | None, dict] = {
    None: {},
    "magnitude": {"scope": "global", "prune_epoch": None},
    "gradual": {"scope": "global", "begin": 0.1, "end": 0.6, "n_pruning_steps": 10},
    "random": {},
    "erk": {},
    "nm": {"m": 4, "srste_lambda": 2e-4},
    "imp": {"scope": "global", "rounds": 3, "rewind_epoch": None},
}


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


def _train_epoch(model, optimizer, X, y, weight, batch_size, generator) -> tuple[float, float]:
    model.train()
    total, correct = 0.0, 0
    for index in _batches(len(X), batch_size, generator):
        index = index.to(X.device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(X[index])
        loss = F.cross_entropy(logits, y[index], weight=weight)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
        correct += int((logits.argmax(dim=1) == y[index]).sum())
    return total / len(X), correct / len(X)


def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits of shape (n_clouds, n_classes) for clouds of shape (n_clouds, n_points, 3)."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def recalibrate_batchnorm(model: nn.Module, X: torch.Tensor, batch_size: int) -> None:
    """Recompute BatchNorm running statistics as exact averages over ``X`` (no gradients).

    Running averages with momentum lag far behind weights that change fast (few steps per
    epoch, pruning events), which makes eval-mode outputs poor; one pass over the training
    clouds fixes them.
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


def _evaluate(model, X, y, weight, batch_size) -> tuple[float, float]:
    logits = predict_logits(model, X, batch_size)
    loss = float(F.cross_entropy(logits, y, weight=weight))
    return loss, float((logits.argmax(dim=1) == y).float().mean())


def _schedule(sparsity, options, epochs, n_batches) -> CubicSparsitySchedule:
    total = epochs * n_batches
    begin = math.floor(options["begin"] * total)
    end = min(total, max(begin + 1, math.floor(options["end"] * total)))
    n_steps = max(1, min(options["n_pruning_steps"], end - begin))
    return CubicSparsitySchedule(
        sparsity, begin_step=begin, n_pruning_steps=n_steps, frequency=(end - begin) // n_steps
    )


def train_pruned(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    *,
    pruning: str | None,
    sparsity: float,
    options: dict,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    class_weight: torch.Tensor,
    generator: torch.Generator,
    progress=None,
) -> tuple[list[dict], int]:
    """Train ``model`` in place under one pruning method; restore the best eligible epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Network mapping (batch, n_points, 3) to (batch, n_classes), on the data's device.
    train, validation : (torch.Tensor of shape (n, n_points, 3), torch.Tensor of shape (n,))
        Clouds and encoded labels; ``validation`` may be None (the last epoch is kept).
    pruning : {None, "magnitude", "gradual", "random", "erk", "nm", "imp"}
        Method; ``options`` holds its :data:`PRUNING_PARAMS` with defaults filled in.
    sparsity : float
        Target fraction of zero prunable weights (for ``"nm"``: ``1 - n / m``).
    epochs, batch_size, learning_rate, weight_decay
        Adam training; ``"imp"`` trains ``rounds + 1`` times ``epochs`` epochs.
    class_weight : torch.Tensor of shape (n_classes,)
        Cross-entropy class weights.
    generator : torch.Generator
        Source of random masks and batch order.
    progress : tqdm.tqdm, optional
        Advanced once per epoch.

    Returns
    -------
    history : list of dict
        Per epoch: epoch, round, loss, accuracy, val_loss, val_accuracy, sparsity, time.
    best_epoch : int
        Index into ``history`` of the restored weights.
    """
    X, y = train
    n_batches = _n_batches(len(X), batch_size)
    if pruning in ("random", "erk"):
        distribution = "uniform" if pruning == "random" else "erk"
        random_prune(model, sparsity, distribution=distribution, generator=generator)
    elif pruning == "nm":
        n = round(options["m"] * (1.0 - sparsity))
        apply_nm_sparsity(model, n, options["m"], srste_lambda=options["srste_lambda"])
    imp = IterativeMagnitudePruner(model, scope=options["scope"]) if pruning == "imp" else None
    rounds = options["rounds"] if imp is not None else 0
    history: list[dict] = []
    best: tuple[tuple, dict, int] | None = None
    for round_ in range(rounds + 1):
        optimizer = torch.optim.Adam(
            model.parameters(), lr=learning_rate, weight_decay=weight_decay
        )
        pruner = None
        if pruning == "gradual":
            schedule = _schedule(sparsity, options, epochs, n_batches)
            pruner = GradualMagnitudePruner(model, schedule, scope=options["scope"])
            pruner.attach(optimizer)
        if imp is not None and round_ == 0 and options["rewind_epoch"] == 0:
            imp.save_rewind_point()
        for epoch in range(epochs):
            if pruning == "magnitude" and epoch == options["prune_epoch"]:
                magnitude_prune(model, sparsity, scope=options["scope"])
            start = time.perf_counter()
            loss, accuracy = _train_epoch(
                model, optimizer, X, y, class_weight, batch_size, generator
            )
            seconds = time.perf_counter() - start
            if imp is not None and round_ == 0 and epoch + 1 == options["rewind_epoch"]:
                imp.save_rewind_point()
            row = {
                "epoch": len(history),
                "round": round_,
                "loss": loss,
                "accuracy": accuracy,
                "val_loss": np.nan,
                "val_accuracy": np.nan,
                "sparsity": sparsity_report(model).sparsity,
                "time": seconds,
            }
            if validation is not None:
                recalibrate_batchnorm(model, X, batch_size)
                row["val_loss"], row["val_accuracy"] = _evaluate(
                    model, *validation, class_weight, batch_size
                )
            history.append(row)
            eligible = round_ == rounds and (
                (pruning == "magnitude" and epoch >= options["prune_epoch"])
                or (pruning == "gradual" and pruner.finished)
                or pruning not in ("magnitude", "gradual")
            )
            if eligible:
                score = (
                    (row["val_accuracy"], -row["val_loss"])
                    if validation is not None
                    else (row["epoch"],)
                )
                if best is None or score > best[0]:
                    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    best = (score, state, row["epoch"])
            if progress is not None:
                progress.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)
                progress.update(1)
        if imp is not None and round_ < rounds:
            imp.prune_round(1.0 - (1.0 - sparsity) ** ((round_ + 1) / rounds))
            imp.rewind()
    if best is None:  # gradual pruning that never finished (too few steps): finish it now
        magnitude_prune(model, sparsity, scope=options["scope"])
        best = ((), None, len(history) - 1)
    if best[1] is not None:
        model.load_state_dict(best[1])
    if validation is None or best[1] is None:
        recalibrate_batchnorm(model, X, batch_size)
    return history, best[2]
