"""Sparse model soups: iterative magnitude pruning whose retraining averages several runs.

Zimmer, Spiegel and Pokutta, "Sparse Model Soups: A Recipe for Improved Pruning via Model
Averaging" (ICLR 2024). A dense run is trained first; each of ``rounds`` prune-retrain cycles
then prunes the current model by magnitude to the round's sparsity (the schedule of
:class:`~flood.sparse_nn.IterativeMagnitudePruner`, landing on the target), retrains
``ingredients`` copies that share this one mask from the same start (they differ in batch
order and augmentation), and averages their weights into the soup that starts the next cycle.
Averaging models with one mask keeps the mask, so the soup has exactly the target sparsity;
BatchNorm statistics of the average are recomputed on the training clouds.
"""

import time

import torch
from torch import nn

from flood.sparse_nn._pruning import magnitude_prune
from flood.sparse_nn._training import (
    RunConfig,
    fit_run,
    history_row,
    round_sparsity,
    state_copy,
)

__all__ = ["average_state_dicts", "train_soup"]


def average_state_dicts(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The uniform average of state dicts of one architecture that share their pruning masks.

    Floating-point tensors are averaged; integer buffers (BatchNorm's batch counters) are
    taken from the first state; ``*_mask`` buffers must be equal in all states.

    Parameters
    ----------
    states : list of dict of str to torch.Tensor
        ``model.state_dict()`` copies, at least one, with equal keys and shapes.

    Returns
    -------
    dict of str to torch.Tensor
        The averaged state, loadable with ``model.load_state_dict``.

    Examples
    --------
    >>> import torch
    >>> a, b = {"w": torch.tensor([1.0, 2.0])}, {"w": torch.tensor([3.0, 6.0])}
    >>> average_state_dicts([a, b])["w"].tolist()
    [2.0, 4.0]
    """
    if not states:
        raise ValueError("average_state_dicts needs at least one state dict. Got 0.")
    keys = list(states[0])
    for k, state in enumerate(states[1:], start=1):
        if list(state) != keys:
            raise ValueError(
                f"states[{k}] has keys {sorted(state)}; expected those of states[0], "
                f"{sorted(keys)} (one architecture, pruned alike)."
            )
    out = {}
    for key in keys:
        values = [state[key] for state in states]
        if key.endswith("_mask"):
            for k, value in enumerate(values[1:], start=1):
                if not torch.equal(value, values[0]):
                    raise ValueError(
                        f"states[{k}][{key!r}] differs from states[0]'s; a soup averages "
                        "models that share one pruning mask."
                    )
            out[key] = values[0].clone()
        elif values[0].is_floating_point():
            out[key] = torch.stack(values).mean(dim=0)
        else:
            out[key] = values[0].clone()
    return out


def train_soup(
    model: nn.Module, cfg: RunConfig, *, sparsity: float, options: dict
) -> tuple[list[dict], int]:
    """Train ``model`` in place as a sparse model soup; it ends holding the last soup.

    Parameters
    ----------
    model : torch.nn.Module
        Dense network, on the data's device.
    cfg : RunConfig
        As for :func:`~flood.sparse_nn._training.train_pruned`; every run (the dense one and
        each ingredient) is one :func:`~flood.sparse_nn._training.fit_run` and keeps its
        best validation epoch (its last without validation).
    sparsity : float
        Target fraction of zero prunable weights, reached in the last round.
    options : dict
        ``scope`` ("global" or "layer"), ``rounds`` (prune-retrain cycles, >= 1) and
        ``ingredients`` (retrained copies averaged per cycle, >= 1).

    Returns
    -------
    history : list of dict
        One row per epoch of every run (``soup`` False), then one per soup (``soup`` True:
        loss and accuracy on the training clouds, time spent averaging).
    best_epoch : int
        Index of the last soup's row.
    """
    history: list[dict] = []
    best = fit_run(model, cfg, history, round_=0)
    if best is not None and best[1] is not None:
        model.load_state_dict(best[1])
    rounds = options["rounds"]
    for round_ in range(1, rounds + 1):
        magnitude_prune(model, round_sparsity(sparsity, round_, rounds), scope=options["scope"])
        start = state_copy(model)
        ingredients = []
        for _ in range(options["ingredients"]):
            model.load_state_dict(start)
            best = fit_run(model, cfg, history, round_=round_)
            ingredients.append(best[1] if best is not None else state_copy(model))
        clock = time.perf_counter()
        model.load_state_dict(average_state_dicts(ingredients))
        seconds = time.perf_counter() - clock
        history.append(history_row(model, cfg, history, round_, None, seconds, soup=True))
    return history, len(history) - 1
