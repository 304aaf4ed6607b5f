"""flood.sparse_nn pruning: exact sparsity, frozen zeros, N:M, schedules, IMP, export."""

import math

import numpy as np
import pytest
import torch  # noqa: E402  (the test extra installs torch==2.13.0)
from torch import nn  # noqa: E402

from flood.sparse_nn import (  # noqa: E402
    DGCNN,
    CubicSparsitySchedule,
    GradualMagnitudePruner,
    IterativeMagnitudePruner,
    KNNNet,
    PointNet,
    apply_nm_sparsity,
    cubic_sparsity,
    current_mask,
    current_weight,
    erk_densities,
    export_state_dict,
    is_nm_sparse,
    lamp_scores,
    magnitude_prune,
    nm_mask,
    prunable_layers,
    random_prune,
    sparsity_report,
    to_semi_structured,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _model(seed=0):
    return PointNet(3, width=4, generator=torch.Generator().manual_seed(seed))


def _batch(seed=0, batch=6, n=32):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=(batch, n, 3))).float()
    return x, torch.from_numpy(rng.integers(0, 3, size=batch))


def _train(model, steps=5, weight_decay=1e-2, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    for step in range(steps):
        x, y = _batch(step)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return optimizer


def _zeros(module):
    return int((current_weight(module) == 0).sum())


PRUNERS = {
    "magnitude_lamp": lambda m, s: magnitude_prune(m, s),
    "magnitude_global": lambda m, s: magnitude_prune(m, s, scope="global"),
    "magnitude_layer": lambda m, s: magnitude_prune(m, s, scope="layer"),
    "random_uniform": lambda m, s: random_prune(m, s, generator=torch.Generator().manual_seed(0)),
    "random_erk": lambda m, s: random_prune(
        m, s, distribution="erk", generator=torch.Generator().manual_seed(0)
    ),
}


@pytest.mark.parametrize("method", PRUNERS)
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9])
def test_achieved_sparsity_matches_target(method, sparsity):
    model = _model()
    PRUNERS[method](model, sparsity)
    report = sparsity_report(model)
    total = report.n_params
    if method in ("magnitude_layer", "random_uniform"):
        for layer in report.layers:
            assert layer.n_params - layer.n_nonzero == round(sparsity * layer.n_params)
        assert abs(report.sparsity - sparsity) <= len(report.layers) / total
    else:
        assert report.n_params - report.n_nonzero == round(sparsity * total)


def test_global_magnitude_keeps_the_largest_weights():
    model = _model()
    before = torch.cat([current_weight(m).abs().flatten() for _, m in prunable_layers(model)])
    magnitude_prune(model, 0.7, scope="global")
    masks = torch.cat([current_mask(m).flatten() for _, m in prunable_layers(model)]).bool()
    assert before[masks].min() >= before[~masks].max()


def test_lamp_scores_follow_magnitude_within_a_layer_and_ignore_its_scale():
    weight = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    scores = lamp_scores(weight)
    order = weight.abs().flatten().argsort()
    assert torch.all(scores.flatten()[order].diff() >= 0)
    assert scores.flatten()[weight.abs().argmax()] == 1.0 and scores.max() == 1.0
    squares = (weight.flatten().double() ** 2).sort().values
    expected = squares / squares.flip(0).cumsum(0).flip(0)  # w_u^2 / sum_{|w_v| >= |w_u|} w_v^2
    torch.testing.assert_close(scores.flatten().double().sort().values, expected)
    torch.testing.assert_close(lamp_scores(1e-3 * weight), scores)


def test_default_magnitude_pruning_never_empties_a_layer_where_global_magnitude_does():
    # Fan-in-scaled initial weights: the 64-input head layer's are the smallest, and ranking
    # raw |w| over the model at 90 % removes all of them (the network's output is constant).
    collapsed = magnitude_prune(_model(), 0.9, scope="global")
    assert min(layer.n_nonzero for layer in sparsity_report(collapsed).layers) == 0
    report = sparsity_report(magnitude_prune(_model(), 0.9))  # LAMP
    assert min(layer.n_nonzero for layer in report.layers) > 0
    assert report.n_params - report.n_nonzero == round(0.9 * report.n_params)


@pytest.mark.parametrize("method", PRUNERS)
def test_pruned_weights_stay_zero_through_optimizer_steps(method):
    model = _model()
    PRUNERS[method](model, 0.8)
    masks = {name: current_mask(m) for name, m in prunable_layers(model)}
    _train(model, steps=4)
    for name, module in prunable_layers(model):
        assert torch.equal(current_mask(module), masks[name])
        assert torch.all(current_weight(module)[masks[name] == 0] == 0)
        assert torch.all(module.weight[masks[name] == 0] == 0)
    assert sparsity_report(model).n_params - sparsity_report(model).n_nonzero >= round(
        0.8 * sparsity_report(model).n_params
    ) - len(masks)


def test_repruning_shrinks_masks_and_refuses_to_grow_them():
    model = _model()
    magnitude_prune(model, 0.5)
    first = {name: current_mask(m) for name, m in prunable_layers(model)}
    magnitude_prune(model, 0.8)
    for name, module in prunable_layers(model):
        assert torch.all(current_mask(module) <= first[name])
    with pytest.raises(ValueError, match="cannot be pruned back up"):
        magnitude_prune(model, 0.3)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: magnitude_prune(m, 1.5), "'sparsity' parameter must be a float in the range"),
        (lambda m: magnitude_prune(m, -0.1), "'sparsity' parameter"),
        (lambda m: magnitude_prune(m, 0.5, scope="row"), "'scope' parameter"),
        (lambda m: random_prune(m, 0.5, distribution="er"), "'distribution' parameter"),
        (lambda m: apply_nm_sparsity(m, 3, 2), "'n' parameter must be at most"),
        (lambda m: apply_nm_sparsity(m, 0, 4), "'n' parameter must be an int >= 1"),
    ],
)
def test_invalid_arguments_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call(_model())


def test_random_masks_follow_the_generator():
    a = random_prune(_model(), 0.6, generator=torch.Generator().manual_seed(1))
    b = random_prune(_model(), 0.6, generator=torch.Generator().manual_seed(1))
    c = random_prune(_model(), 0.6, generator=torch.Generator().manual_seed(2))
    masks = [[current_mask(m) for _, m in prunable_layers(x)] for x in (a, b, c)]
    assert all(torch.equal(x, y) for x, y in zip(masks[0], masks[1], strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(masks[0], masks[2], strict=True))


@pytest.mark.parametrize("density", [0.02, 0.1, 0.3, 0.7])
def test_erk_densities_meet_the_budget(density):
    shapes = [(8, 3, 1), (16, 8, 1), (64, 16), (32, 64), (2, 32), (64, 128, 1)]
    sizes = [math.prod(s) for s in shapes]
    densities = erk_densities(shapes, density)
    assert all(0.0 <= d <= 1.0 for d in densities)
    assert sum(d * n for d, n in zip(densities, sizes, strict=True)) == pytest.approx(
        density * sum(sizes), rel=1e-12
    )
    # uncapped layers share one scale eps: density_l / (sum(shape) / prod(shape)) is constant
    ratios = [
        d / (sum(s) / math.prod(s)) for d, s in zip(densities, shapes, strict=True) if d < 1.0
    ]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-12)
    if density == 0.3:
        assert densities[0] == 1.0  # the small first layer is capped at 1


def test_erk_random_pruning_gives_per_layer_erk_densities():
    model = _model()
    layers = prunable_layers(model)
    expected = erk_densities([tuple(m.weight.shape) for _, m in layers], 0.2)
    random_prune(model, 0.8, distribution="erk", generator=torch.Generator().manual_seed(0))
    for (_, module), density in zip(layers, expected, strict=True):
        kept = int(current_mask(module).sum())
        assert abs(kept - density * module.weight.numel()) <= 1.0


def test_nm_mask_keeps_the_largest_in_every_group():
    w = torch.randn(6, 16, generator=torch.Generator().manual_seed(0))
    mask = nm_mask(w, 2, 4)
    groups, masks = w.abs().reshape(-1, 4), mask.reshape(-1, 4).bool()
    assert torch.all(masks.sum(dim=1) == 2)
    for g, k in zip(groups, masks, strict=True):
        assert g[k].min() >= g[~k].max()
    with pytest.raises(ValueError, match="multiple of m=4"):
        nm_mask(torch.ones(2, 6), 2, 4)


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (2, 8)])
def test_nm_pattern_holds_in_every_group_through_training(n, m):
    model = _model()
    names = apply_nm_sparsity(model, n, m)
    skipped = {name for name, mod in prunable_layers(model) if mod.weight.shape[1] % m}
    assert set(names) == {name for name, _ in prunable_layers(model)} - skipped
    assert "features.0" in skipped  # the layer reading 3 coordinates stays dense
    assert names
    _train(model, steps=4, weight_decay=0.0)
    for name, module in prunable_layers(model):
        if name in names:
            weight = current_weight(module)
            assert is_nm_sparse(weight, n, m)
            groups = (weight.reshape(-1, m) != 0).sum(dim=1)
            assert torch.all(groups == n)
            assert sparsity_report(module).sparsity == 1 - n / m


def test_srste_gradient_adds_the_sparse_refined_term():
    layer = nn.Linear(8, 3, bias=False)
    apply_nm_sparsity(layer, 2, 4, srste_lambda=0.5)
    upstream = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    (layer.weight * upstream).sum().backward()  # d loss / d sparse weight = upstream
    mask = current_mask(layer)
    expected = upstream + 0.5 * (1 - mask) * layer.weight_orig.detach()
    assert torch.allclose(layer.weight_orig.grad, expected)
    # straight-through: pruned weights receive the dense gradient too
    assert torch.all(layer.weight_orig.grad[mask == 0] != 0)


def test_cubic_schedule_matches_the_formula():
    s_i, s_f, t0, n, dt = 0.1, 0.9, 20, 8, 5
    schedule = CubicSparsitySchedule(
        s_f, initial_sparsity=s_i, begin_step=t0, n_pruning_steps=n, frequency=dt
    )
    for t in range(t0, t0 + n * dt + 1):
        expected = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3
        assert schedule(t) == pytest.approx(expected, abs=1e-15)
    assert schedule(0) == s_i and schedule(10_000) == s_f
    assert schedule.end_step == 60
    assert [t for t in range(100) if schedule.is_pruning_step(t)] == list(range(20, 61, 5))
    assert cubic_sparsity(
        40, final_sparsity=s_f, initial_sparsity=s_i, begin_step=t0, n_pruning_steps=n, frequency=dt
    ) == schedule(40)
    with pytest.raises(ValueError, match="'frequency' parameter"):
        CubicSparsitySchedule(0.5, frequency=0)
    with pytest.raises(ValueError, match="'final_sparsity' parameter"):
        CubicSparsitySchedule(1.5)


def test_gradual_pruner_follows_the_schedule():
    model = _model()
    schedule = CubicSparsitySchedule(0.9, begin_step=2, n_pruning_steps=4, frequency=2)
    pruner = GradualMagnitudePruner(model, schedule)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    handle = pruner.attach(optimizer)
    total = sparsity_report(model).n_params
    previous = 0
    for step in range(1, 13):
        x, y = _batch(step)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        zeros = total - sparsity_report(model).n_nonzero
        target = schedule(max(t for t in range(step + 1) if schedule.is_pruning_step(t) or t == 0))
        assert zeros == round(target * total) if step >= 2 else zeros == 0
        assert zeros >= previous
        previous = zeros
    assert pruner.finished and pruner.step_count == 12
    assert sparsity_report(model).sparsity == pytest.approx(0.9, abs=1 / total)
    handle.remove()


def test_imp_rewinds_survivors_to_the_saved_weights():
    model = _model()
    _train(model, steps=1)
    imp = IterativeMagnitudePruner(model, rate=0.3)
    imp.save_rewind_point()
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    total = sparsity_report(model).n_params
    for r in range(1, 4):
        _train(model, steps=3)
        target = imp.prune_round()
        assert target == pytest.approx(1 - 0.7**r, abs=r / total)
        imp.rewind()
        assert total - sparsity_report(model).n_nonzero == round(target * total)
        for name, module in prunable_layers(model):
            mask = current_mask(module)
            assert torch.equal(current_weight(module), saved[f"{name}.weight"] * mask)
            assert torch.equal(module.weight_orig, saved[f"{name}.weight"])
        assert torch.equal(model.head[-1].bias, saved["head.6.bias"])
        assert torch.equal(model.features[1].running_mean, saved["features.1.running_mean"])
    assert imp.rounds == 3


def test_imp_rewind_needs_a_rewind_point():
    with pytest.raises(ValueError, match="save_rewind_point"):
        IterativeMagnitudePruner(_model()).rewind()
    with pytest.raises(ValueError, match="'rate' parameter"):
        IterativeMagnitudePruner(_model(), rate=1.0)


def test_report_string_and_rows():
    model = magnitude_prune(_model(), 0.5, scope="layer")
    report = sparsity_report(model)
    rows = report.as_dicts()
    assert [r["name"] for r in rows[:-1]] == [name for name, _ in prunable_layers(model)]
    assert rows[-1]["name"] == "global" and rows[-1]["n_params"] == report.n_params
    text = str(report)
    assert "features.0" in text and "head.3" in text and "global" in text
    assert f"{report.sparsity:8.4f}" in text.splitlines()[-1]


ARCHS = {
    "pointnet": lambda: PointNet(3, width=4, input_transform=True),
    "dgcnn": lambda: DGCNN(3, k=5, width=4),
    "knn": lambda: KNNNet(3, k=5, width=4),
}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["magnitude", "nm", "imp"])
def test_exported_state_dict_loads_into_an_unpruned_model(arch, method):
    model = ARCHS[arch]()
    if method == "magnitude":
        magnitude_prune(model, 0.7)
    elif method == "nm":
        apply_nm_sparsity(model, 2, 4)
    else:
        imp = IterativeMagnitudePruner(model, rate=0.5)
        imp.save_rewind_point()
        imp.prune_round()
        imp.rewind()
    _train(model, steps=2)
    state = export_state_dict(model)
    assert not any(k.endswith(("_orig", "_mask")) for k in state)
    plain = ARCHS[arch]()
    plain.load_state_dict(state, strict=True)
    model.eval(), plain.eval()
    x, _ = _batch(9)
    with torch.no_grad():
        assert torch.equal(model(x), plain(x))
    assert sparsity_report(plain).n_nonzero == sparsity_report(model).n_nonzero


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_semi_structured_needs_cuda():
    with pytest.raises(ValueError, match="need a CUDA device"):
        to_semi_structured(_model())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_semi_structured_linear_matches_masked_dense():  # pragma: no cover - GPU only
    model = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2)).cuda()
    apply_nm_sparsity(model, 2, 4)
    x = torch.randn(32, 128, device="cuda")
    with torch.no_grad():
        dense = model(x)
        assert to_semi_structured(model) == ["0"]  # (2, 64) is too small for the kernels
        assert type(model[0]).__name__ == "SemiStructuredLinear"
        assert torch.allclose(model(x), dense, atol=2e-2, rtol=2e-2)
    assert sparsity_report(model).layers[0].sparsity == 0.5
