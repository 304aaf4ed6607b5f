"""flood.torch: gradients of Flood persistence against finite differences and the
mathematics they must obey (../shared/DESIGN.md section 8)."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flood.torch import (  # noqa: E402
    FloodPersistence,
    flood_persistence,
    persistence,
    to_torch_topological,
    total_persistence,
    wasserstein_distance,
)


def _cloud(n, dim, seed):
    return np.random.default_rng(seed).normal(size=(n, dim))


def _coordinates(x, landmarks, **kw):
    """Every finite diagram coordinate, concatenated (one vector per call)."""
    diagrams = flood_persistence(x, landmarks, random_state=0, **kw)
    return torch.cat([d[torch.isfinite(d)] for d in diagrams])


def _weighted_loss(x, landmarks, seed=0, **kw):
    """A random positive combination of all finite coordinates: degree-1 homogeneous."""
    values = _coordinates(x, landmarks, **kw)
    w = torch.as_tensor(np.random.default_rng(seed).uniform(0.5, 1.5, len(values)))
    return (w.to(values) * values).sum()


@pytest.mark.parametrize("dim,seed", [(2, 0), (2, 1), (3, 0), (3, 1)])
def test_gradient_matches_central_differences(dim, seed):
    X = _cloud(120, dim, seed)
    x = torch.tensor(X, requires_grad=True)
    values = _coordinates(x, 20)
    rng = np.random.default_rng(seed)
    w = torch.as_tensor(rng.normal(size=len(values)))
    (w * values).sum().backward()
    grad = x.grad.numpy()
    # coordinates that matter: the largest gradients, and a few at random
    top = np.argsort(-np.abs(grad).ravel())[:8]
    picks = np.concatenate([top, rng.choice(X.size, 6, replace=False)])
    h = 1e-6
    for flat in picks:
        i, c = np.unravel_index(flat, X.shape)
        plus, minus = X.copy(), X.copy()
        plus[i, c] += h
        minus[i, c] -= h
        fp = _coordinates(torch.tensor(plus), 20).numpy()
        fm = _coordinates(torch.tensor(minus), 20).numpy()
        assert len(fp) == len(fm) == len(values)
        fd = float(w.numpy() @ (fp - fm)) / (2 * h)
        # measured: errors <= 3e-10 of the largest gradient (1.0e-5 allowed)
        assert abs(fd - grad[i, c]) <= 1e-5 * np.abs(grad).max(), (i, c, fd, grad[i, c])


def test_gradcheck_of_the_filtration_values():
    x = torch.tensor(_cloud(30, 2, 3), requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: _coordinates(p, 10), (x,), eps=1e-6, atol=1e-7)


def test_gradcheck_to_landmark_coordinates():
    X = _cloud(60, 2, 4)
    # not points of X, at distinct distances from it (equal vertex values would tie)
    lm = torch.tensor(X[:12] + np.random.default_rng(5).normal(scale=0.05, size=(12, 2)))
    lm.requires_grad_()
    x = torch.tensor(X, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda p, q: _coordinates(p, q), (x, lm), eps=1e-6, atol=1e-7, fast_mode=True
    )


def test_points_that_witness_nothing_get_zero_gradient():
    X = _cloud(150, 2, 5)
    L = X[:15].copy()  # fixed landmark coordinates (constants)
    x = torch.tensor(X, requires_grad=True)
    values = _coordinates(x, L)
    values.sum().backward()
    norm = x.grad.norm(dim=1).numpy()
    active = np.flatnonzero(norm > 0)
    # few witnesses: at most dim + 1 active points per coordinate
    assert 0 < len(active) <= 3 * len(values)
    # moving a point of zero gradient a little leaves every coordinate as it was (it is
    # nearest to no maximizer); moving a witness moves a coordinate. Landmark rows (< 15)
    # are left out: each is a kink of its own vertex's value |l - x| = 0 (zero subgradient)
    rng = np.random.default_rng(5)
    silent = np.flatnonzero(norm == 0)
    silent = silent[silent >= len(L)]
    g = x.grad.numpy()
    for i in np.concatenate([active[active >= len(L)], rng.choice(silent, 30, replace=False)]):
        moved = X.copy()
        step = g[i] / norm[i] if norm[i] > 0 else rng.normal(size=2)
        moved[i] += 1e-7 * step
        now = _coordinates(torch.tensor(moved), L).numpy()
        change = now - values.detach().numpy()
        if norm[i] == 0:
            assert np.abs(change).max() <= 1e-14, (i, change)
        else:  # along its gradient the sum moves by 1e-7 |grad|
            assert abs(change.sum() - 1e-7 * norm[i]) <= 1e-9 * norm[i], (i, change.sum())


def test_face_propagated_values_get_the_gradient_of_their_face():
    # critical triangles whose maximizer lies on an edge (f(s) = f(edge)): the derivative
    # goes to that edge's two vertices and two active points, and matches differences
    from flood import flood_complex
    from flood._cycles import offsets, split_ids
    from flood._gradients import persistence_jacobian

    def run(X):
        res = flood_complex(X, 40, tol=0.0, device="cpu", random_state=0)
        return res, persistence_jacobian(res, X, (0, 1, 2), 0.0)

    X = _cloud(200, 3, 0)
    res, cp = run(X)
    J = cp.jacobian
    k, _ = split_ids(cp.ids, offsets(res.simplices))
    n_vertices = np.bincount(J.vertex_owner, minlength=len(J.values))
    on_edge = np.flatnonzero((k == 2) & (n_vertices == 2))
    assert len(on_edge) >= 2  # measured: 7 of 92 critical triangles (2-10 for seeds 0-7)
    h = 1e-6
    for i in on_edge[:2]:
        terms = [
            (r, c)
            for r, c in zip(J.point_rows[J.point_owner == i], J.point_coef[J.point_owner == i])
        ]
        terms += [
            (res.landmark_indices[r], c)
            for r, c in zip(J.vertex_rows[J.vertex_owner == i], J.vertex_coef[J.vertex_owner == i])
        ]
        assert len(terms) == 4
        for row in sorted({r for r, _ in terms}):
            grad = sum(c for r, c in terms if r == row)  # a landmark may be active too
            for c in range(3):
                plus, minus = X.copy(), X.copy()
                plus[row, c] += h
                minus[row, c] -= h
                (_, p), (_, m) = run(plus), run(minus)
                assert np.array_equal(p.ids, cp.ids) and np.array_equal(m.ids, cp.ids)
                fd = (p.jacobian.values[i] - m.jacobian.values[i]) / (2 * h)
                assert abs(fd - grad[c]) <= 1e-6, (i, row, c, fd, grad[c])


@pytest.mark.parametrize("dim", [2, 3])
def test_gradients_rotate_with_the_cloud(dim):
    X = _cloud(120, dim, 6)
    R, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(dim, dim)))
    grads = []
    for Y in (X, X @ R.T):  # landmark coordinates rotate along (FPS's buckets are axis-bound)
        y = torch.tensor(Y, requires_grad=True)
        lm = torch.tensor(Y[:20] + 0.01 * Y[20:40], requires_grad=True)
        _weighted_loss(y, lm).backward()
        grads.append((y.grad.numpy(), lm.grad.numpy()))
    for rotated, original in zip(grads[1], grads[0]):
        np.testing.assert_allclose(rotated, original @ R.T, atol=1e-9)


@pytest.mark.parametrize("dim", [2, 3])
def test_translation_and_homogeneity(dim):
    X = _cloud(150, dim, 8) + 3.0  # off the origin: homogeneity is about the origin
    x = torch.tensor(X, requires_grad=True)
    loss = _weighted_loss(x, 20)
    loss.backward()
    g = x.grad.numpy()
    scale = np.abs(g).sum()
    assert np.abs(g.sum(axis=0)).max() <= 1e-12 * scale  # translation moves nothing
    assert abs((X * g).sum() - loss.item()) <= 1e-10 * loss.item()  # sum x . grad = f


def test_translation_and_homogeneity_with_landmark_tensor():
    X = _cloud(150, 3, 9)
    x = torch.tensor(X, requires_grad=True)
    lm = torch.tensor(X[:20] + np.random.default_rng(9).normal(scale=0.03, size=(20, 3)))
    lm.requires_grad_()
    loss = _weighted_loss(x, lm)
    loss.backward()
    total = x.grad.sum(0) + lm.grad.sum(0)
    assert lm.grad.abs().sum() > 0
    assert total.abs().max() <= 1e-12 * (x.grad.abs().sum() + lm.grad.abs().sum())
    homog = (x.detach() * x.grad).sum() + (lm.detach() * lm.grad).sum()
    assert abs(homog.item() - loss.item()) <= 1e-10 * loss.item()


def test_positive_tol_gives_finite_gradients_with_the_same_invariants():
    # at tol > 0 the maximizer is a tol-maximizer: the gradient is that of d_X there
    X = _cloud(200, 3, 12) + 2.0
    x = torch.tensor(X, requires_grad=True)
    values = _coordinates(x, 25, tol=None)  # flood_complex's default tol
    loss = values.sum()
    loss.backward()
    g = x.grad.numpy()
    assert np.all(np.isfinite(g)) and np.abs(g).sum() > 0
    assert np.abs(g.sum(axis=0)).max() <= 1e-12 * np.abs(g).sum()
    assert abs((X * g).sum() - loss.item()) <= 1e-10 * loss.item()


def test_landmark_tensor_rows_on_points_of_x_are_born_at_exactly_zero():
    X = _cloud(100, 2, 14) + 5.0  # off the origin: the centring shift rounds
    off = np.random.default_rng(14).normal(scale=0.05, size=(10, 2))
    lm = torch.tensor(np.r_[X[:10], X[10:20] + off], requires_grad=True)
    x = torch.tensor(X, requires_grad=True)
    h0, h1 = flood_persistence(x, lm)
    births = h0[:, 0].detach().numpy()
    assert (births == 0).sum() >= 1 and np.all((births == 0) | (births > 1e-6)), births
    total_persistence([h0, h1]).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(lm.grad).all()


@pytest.mark.parametrize("n", [4, 12])
def test_symmetric_degenerate_configuration_gives_finite_subgradients(n):
    # a regular n-gon and its centre's neighbourhood: every vertex is active at the centre
    t = np.arange(n) * 2 * np.pi / n
    X = np.c_[np.cos(t), np.sin(t)]
    x = torch.tensor(X, requires_grad=True)
    (h1,) = flood_persistence(x, X, homology_dimensions=1)
    assert h1.shape == (1, 2)
    h1[0, 1].backward()  # the death: the circumradius 1
    g = x.grad.numpy()
    assert np.all(np.isfinite(g))
    # the symmetric choice: equal weights, each point pulled along its radius
    np.testing.assert_allclose(g, X / n, atol=1e-12)


def test_float32_points_and_the_module():
    x = torch.tensor(_cloud(100, 2, 10), dtype=torch.float32, requires_grad=True)
    h0, h1 = FloodPersistence(15, random_state=0)(x)
    assert h0.dtype == torch.float32 and h0.shape[1] == 2
    assert np.isinf(h0[:, 1].detach().numpy()).sum() == 1
    total_persistence([h0, h1]).backward()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()


def test_diagrams_match_flood_complex():
    from flood import flood_complex

    X = _cloud(200, 3, 11)
    res = flood_complex(X, 25, tol=0.0, device="cpu", random_state=0)
    ours = flood_persistence(torch.tensor(X), 25, random_state=0)
    assert ours.homology_dimensions == (0, 1, 2)
    for a, b in zip(ours, res.diagrams()):
        a = a.numpy()
        key = lambda d: d[np.lexsort((d[:, 0], d[:, 1]))]  # noqa: E731
        np.testing.assert_allclose(key(a), key(b), rtol=1e-8, atol=1e-9)


def test_losses():
    d = torch.tensor([[0.0, np.inf], [0.1, 0.5], [0.2, 0.3]], dtype=torch.float64)
    d.requires_grad_()
    np.testing.assert_allclose(persistence(d).detach().numpy(), [0.4, 0.1])
    np.testing.assert_allclose(persistence(d, top=1).detach().numpy(), [0.4])
    assert abs(total_persistence(d, order=2).item() - 0.17) < 1e-12
    target = np.array([[0.1, 0.6]])
    w = wasserstein_distance(d, target, order=1, internal_p=np.inf)
    assert abs(w.item() - (0.1 + 0.05)) < 1e-9  # (0.1, 0.5) -> (0.1, 0.6), (0.2, 0.3) -> diag
    w.backward()
    assert torch.isfinite(d.grad).all() and d.grad[0].abs().sum() == 0


def test_import_flood_does_not_import_torch():
    code = "import sys, flood; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (
            lambda: flood_persistence([[0.0, 1.0]] * 5),
            TypeError,
            "'points' parameter.*torch.Tensor.*list",
        ),
        (
            lambda: flood_persistence(torch.zeros(5, 2, dtype=torch.int64)),
            TypeError,
            "floating point.*int64",
        ),
        (lambda: flood_persistence(torch.zeros(5)), ValueError, r"points has shape \(5,\)"),
        (lambda: flood_persistence(torch.full((5, 2), np.nan)), ValueError, "points.*NaN"),
        (
            lambda: flood_persistence(torch.randn(20, 2), 5, tol=-1.0),
            ValueError,
            "'tol' parameter.*-1.0",
        ),
        (
            lambda: flood_persistence(torch.randn(20, 2), 5, homology_dimensions=-1),
            ValueError,
            "'homology_dimensions' parameter of flood.torch.flood_persistence.*-1",
        ),
        (
            lambda: flood_persistence(torch.randn(20, 2), 5, min_persistence=-0.1),
            ValueError,
            "'min_persistence'.*-0.1",
        ),
        (
            lambda: flood_persistence(torch.randn(20, 2), 5, n_threads=0),
            ValueError,
            "'n_threads' parameter of flood.torch.flood_persistence.*0",
        ),
        (lambda: flood_persistence(torch.randn(20, 2), 0), ValueError, "'landmarks' parameter.*0"),
        (
            lambda: flood_persistence(torch.randn(20, 2), torch.zeros(4, 2, dtype=torch.int32)),
            TypeError,
            "'landmarks'.*torch.int32",
        ),
        (
            lambda: persistence(torch.zeros(3, 3)),
            ValueError,
            r"'diagram' parameter of flood.torch.persistence.*\(3, 3\)",
        ),
        (lambda: persistence(torch.zeros(3, 2), top=0), ValueError, "'top'.*0"),
        (lambda: total_persistence(torch.zeros(3, 2), order=0), ValueError, "'order'.*0"),
        (lambda: total_persistence([]), ValueError, "'diagrams'.*empty list"),
        (
            lambda: wasserstein_distance(torch.zeros(3, 2), [[0.0, 1.0]], order=0.5),
            ValueError,
            "'order'.*0.5",
        ),
        (lambda: wasserstein_distance(torch.zeros(3, 2), torch.zeros(2)), ValueError, "'target'.*"),
    ],
)
def test_bad_input_is_refused_naming_parameter_rule_and_value(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_example_closes_spurious_loops_and_grows_the_ring(tmp_path):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "topological_loss.py"
    spec = importlib.util.spec_from_file_location("flood_example_topological_loss", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(out_dir=tmp_path, n_points=300, n_landmarks=50, steps=15)
    losses = out["losses"]
    assert losses[-1] < losses[0] - 0.2, losses  # measured 0.19 -> -0.29
    bars = [np.sort(d[:, 1] - d[:, 0])[::-1] for d in (out["before"], out["after"])]
    assert bars[1][0] > bars[0][0] + 0.05  # the ring's bar (the target) grows
    assert bars[1][1:].sum() < 0.5 * bars[0][1:].sum()  # the spurious loops close
    assert out["figure"].parent == tmp_path and out["figure"].stat().st_size > 20_000


def test_readme_topological_loss_runs():
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = [
        b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "flood.torch" in b
    ]
    assert len(blocks) == 1
    scope = {}
    exec(compile(blocks[0], "README-torch", "exec"), scope)
    # the ring's bar now outweighs all spurious bars together (measured +0.19 at step 0)
    assert scope["loss"].item() < 0


def test_torch_topological_losses_take_flood_diagrams():
    tt = pytest.importorskip("torch_topological.nn")
    x = torch.tensor(_cloud(120, 2, 13), requires_grad=True)
    diagrams = flood_persistence(x, 20, random_state=0)
    infos = to_torch_topological(diagrams)
    assert [i.dimension for i in infos] == [0, 1]
    assert all(torch.isfinite(i.diagram).all() for i in infos)
    loss = tt.SummaryStatisticLoss("total_persistence", p=1)(infos)
    assert abs(loss.item() - total_persistence(diagrams).item()) < 1e-12
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(TypeError, match="'diagrams' parameter.*list"):
        to_torch_topological([torch.zeros(1, 2)])


def test_gradients_benchmark_quick(capsys):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "gradients.py"
    spec = importlib.util.spec_from_file_location("flood_bench_gradients", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--scale", "2000", "--peers", "", "--landmarks", "40", "--repeat", "1"])
    (name, n, forward, backward) = rows[0]
    assert (name, n) == ("flood", 2000) and 0 < backward < forward
    assert "bwd/fwd" in capsys.readouterr().out


def test_each_device_gives_the_cpu_values_and_gradients(device):
    # the kernels run on the tensor's device (Warp CUDA when the tensor is on a GPU)
    if device.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("Warp sees a GPU but this torch build has no CUDA")
    X = _cloud(150, 3, 15)
    grads, losses = [], []
    for where in ("cpu", device):
        x = torch.tensor(X, device=where, requires_grad=True)
        loss = _weighted_loss(x, 20)
        loss.backward()
        losses.append(loss.item())
        grads.append(x.grad.cpu().numpy())
    assert abs(losses[1] - losses[0]) <= 1e-9 * losses[0]
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-9)
