"""flood.sparse_nn networks and neighbourhood helpers: shapes, invariances, seeded init."""

import numpy as np
import pytest
import torch  # noqa: E402  (the test extra installs torch==2.13.0)

from flood.sparse_nn import (  # noqa: E402
    DGCNN,
    KNNNet,
    PointNet,
    farthest_point_sample,
    gather_points,
    knn_indices,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


ARCHITECTURES = {
    "pointnet": lambda g: PointNet(3, width=4, generator=g),
    "pointnet_tnet": lambda g: PointNet(3, width=4, input_transform=True, generator=g),
    "dgcnn": lambda g: DGCNN(3, k=5, width=4, generator=g),
    "knn": lambda g: KNNNet(3, k=5, width=4, generator=g),
    "knn_random": lambda g: KNNNet(3, k=5, width=4, sampling="random", generator=g),
}


def _clouds(seed=0, batch=4, n=40):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(batch, n, 3))).float()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_logits_shape_and_gradients(name):
    model = ARCHITECTURES[name](torch.Generator().manual_seed(0))
    logits = model(_clouds())
    assert logits.shape == (4, 3)
    logits.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_generator_makes_initialisation_reproducible(name):
    a = ARCHITECTURES[name](torch.Generator().manual_seed(3))
    b = ARCHITECTURES[name](torch.Generator().manual_seed(3))
    c = ARCHITECTURES[name](torch.Generator().manual_seed(4))
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), key
    differs = [
        not torch.equal(x, y)
        for x, y in zip(a.state_dict().values(), c.state_dict().values(), strict=True)
    ]
    assert any(differs)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_construction_leaves_global_rng_alone(name):
    before = torch.get_rng_state()
    ARCHITECTURES[name](torch.Generator().manual_seed(0))
    assert torch.equal(before, torch.get_rng_state())


def test_tnet_starts_as_identity():
    model = PointNet(2, width=4, input_transform=True).eval()
    transform = model.transform(_clouds())
    assert torch.allclose(transform, torch.eye(3).expand(4, 3, 3))


@pytest.mark.parametrize("name", ["pointnet", "pointnet_tnet", "dgcnn"])
def test_point_order_does_not_matter(name):
    model = ARCHITECTURES[name](torch.Generator().manual_seed(0)).eval()
    x = _clouds()
    permuted = x[:, torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(1))]
    with torch.no_grad():
        assert torch.allclose(model(x), model(permuted), atol=1e-5)


def test_knn_indices_match_brute_force():
    query, points = _clouds(1, 2, 7), _clouds(2, 2, 11)
    found = knn_indices(query, points, 4).numpy()
    d = np.linalg.norm(query.numpy()[:, :, None] - points.numpy()[:, None], axis=-1)
    np.testing.assert_array_equal(found, np.argsort(d, axis=-1)[..., :4])


def test_gather_points_indexes_each_batch():
    features = torch.arange(24.0).reshape(2, 4, 3)
    out = gather_points(features, torch.tensor([[[3, 0]], [[1, 1]]]))
    assert out.shape == (2, 1, 2, 3)
    assert torch.equal(out[1, 0, 0], features[1, 1])
    assert torch.equal(out[0, 0, 0], features[0, 3])


def test_farthest_point_sample_picks_the_farthest_point_each_time():
    x = _clouds(5, 2, 30)
    indices = farthest_point_sample(x, 6)
    for b in range(2):
        chosen = indices[b].tolist()
        assert chosen[0] == 0 and len(set(chosen)) == 6
        for i in range(1, 6):
            d = torch.cdist(x[b], x[b, chosen[:i]]).min(dim=1).values
            assert d[chosen[i]] == d.max()


def test_invalid_sampling_is_rejected():
    with pytest.raises(ValueError, match="'sampling' parameter"):
        KNNNet(2, sampling="grid")


def test_missing_torch_says_what_to_install(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    for name in [m for m in sys.modules if m.startswith("flood.sparse_nn")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"pip install flood-tda\[nn\]"):
        importlib.import_module("flood.sparse_nn")
