"""Seeds gathered in the kernel (flood.kernels._seeds) against the host's padded rows made
distinct (its NumPy reference), and certify_tasks run on either."""

import numpy as np
import pytest
import warp as wp

from flood.kernels import build_tree, certify_tasks
from flood.kernels._seeds import FaceSeeds, gather_seeds_kernel, gather_seeds_reference


def _face_seeds(rng, n_tasks, lead, n_faces, n_sites, width):
    """Random tasks whose faces share sites (ids below ``n_sites``) and repeat own sites."""
    face_sites = rng.integers(-2, n_sites, size=(40, width)).astype(np.int32)
    face_sites[7] = -1  # a face without sites
    valid = face_sites >= 0
    count = valid.sum(axis=1)
    own = rng.integers(-1, n_sites, size=(n_tasks, lead)).astype(np.int32)
    rows = rng.integers(0, 40, size=(n_tasks, n_faces))
    rows[3] = 7
    return FaceSeeds(own, rows, face_sites[valid], np.cumsum(count) - count, count)


@pytest.mark.parametrize(
    "lead, n_faces, n_sites, width", [(2, 2, 50, 16), (3, 3, 12, 9), (4, 4, 30, 20)]
)
def test_gather_seeds_equals_the_rows_made_distinct(device, lead, n_faces, n_sites, width):
    rng = np.random.default_rng(lead)
    faces = _face_seeds(rng, 60, lead, n_faces, n_sites, width)
    want = gather_seeds_reference(faces)
    part = faces.take(5, 60)
    out = wp.full((55, part.width()), 7, dtype=wp.int32, device=device)  # garbage to overwrite
    wp.launch(gather_seeds_kernel, dim=55, inputs=[faces.struct(device, 5, 60), out], device=device)
    got = out.numpy()
    assert got.shape[1] >= want.shape[1]  # as wide as the rows before deduplication
    for g, w in zip(got, want[5:]):
        # the row in use: the own sites, the distinct face sites, then one -1 where there
        # is room; the columns after it are not written (the 7s stay), nor read
        past = np.flatnonzero(w[lead:] < 0)
        end = lead + past[0] if len(past) else len(w)
        assert (w[end:] == -1).all()  # the reference pads the whole row
        np.testing.assert_array_equal(g[:end], w[:end])
        if end < len(g):
            assert g[end] == -1


def test_gather_seeds_reference_keeps_own_sites_then_distinct_face_sites_descending():
    rng = np.random.default_rng(4)
    faces = _face_seeds(rng, 30, 3, 3, 20, 9)
    got = gather_seeds_reference(faces)
    for i in range(30):  # a slow restatement, row by row
        own = [int(s) for s in faces.own[i]]
        head = [s if s >= 0 and s not in own[:j] else -1 for j, s in enumerate(own)]
        sites = set()
        for f in faces.rows[i]:
            sites.update(faces.flat[faces.start[f] : faces.start[f] + faces.count[f]].tolist())
        rest = sorted(sites - set(own), reverse=True)
        row = got[i].tolist()
        assert row[:3] == head and row[3 : 3 + len(rest)] == rest
        assert all(s == -1 for s in row[3 + len(rest) :])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_certify_tasks_on_face_seeds_equals_certify_tasks_on_their_rows(k):
    """Seeds the kernel gathers give the same output as the rows they stand for, each
    task's corners' nearest points first (n_eager) and its faces' sites as candidates."""
    rng = np.random.default_rng(30 + k)
    X = rng.random((20_000, 3))
    tree = build_tree(X)
    n = 40
    corners = np.clip(rng.random((n, 1, 3)) + 0.1 * rng.random((n, k + 1, 3)), 0.0, 1.0)
    points = tree.points.numpy()
    nearest = [((points[:, None] - c[None]) ** 2).sum(-1).argmin(0) for c in corners]
    own = np.stack(nearest).astype(np.int32)  # the corners' nearest points
    near = np.argsort(((points[:, None] - corners.mean(1)[None]) ** 2).sum(-1), axis=0)[:60].T
    face_sites = near.reshape(n * 3, 20).astype(np.int32)  # three faces of 20 sites per task
    count = np.full(len(face_sites), 20)
    rows = (np.arange(n)[:, None] * 3 + np.arange(3)[None, :])[rng.permutation(n)]
    faces = FaceSeeds(own, rows, face_sites.ravel(), np.cumsum(count) - count, count)
    args = (tree, corners, None, np.zeros(n), np.full(n, np.inf), 1e-4)
    kw = dict(n_add=1, n_keep=7, n_eager=k + 1, batch_size=16)
    dense = certify_tasks(args[0], args[1], gather_seeds_reference(faces), *args[3:], **kw)
    gathered = certify_tasks(args[0], args[1], faces, *args[3:], **kw)
    for key, value in dense.items():
        np.testing.assert_array_equal(gathered[key], value, err_msg=key)
    with pytest.raises(ValueError, match="n_eager"):
        certify_tasks(args[0], args[1], faces, *args[3:], n_eager=None)


def test_face_seeds_hold_each_faces_sites_in_descending_order():
    """The kernel merges the faces' lists, so FaceSeeds keeps each face's sites descending:
    flood's own faces (faces_of, shrink) come sorted and are used as they are; others are
    sorted face by face (the faces' sets unchanged); a layout with gaps is refused."""
    from flood._certify_batches import faces_of, shrink
    from flood.kernels._seeds import descending_faces

    rng = np.random.default_rng(8)
    sites = rng.integers(-2, 500, size=(30, 12)).astype(np.int32)
    flat, start, count = faces_of(sites)
    for i in range(30):  # each row's valid sites, largest first
        row = flat[start[i] : start[i] + count[i]]
        assert sorted(row.tolist(), reverse=True) == row.tolist()
        assert sorted(row.tolist()) == sorted(sites[i][sites[i] >= 0].tolist())
    assert descending_faces(flat, start, count) is flat  # sorted: not copied
    own = np.zeros((4, 2), dtype=np.int32)
    rows = rng.integers(0, 30, size=(4, 3))
    shuffled = flat.copy()
    for i in range(30):
        rng.shuffle(shuffled[start[i] : start[i] + count[i]])
    faces = FaceSeeds(own, rows, shuffled, start, count)
    np.testing.assert_array_equal(faces.flat, flat)
    assert faces.take(1, 3).flat is faces.flat
    with pytest.raises(ValueError, match="one face after the other"):
        descending_faces(flat, start + 1, count)
    with pytest.raises(ValueError, match="n_faces <= 7"):  # the kernel holds 7 list heads
        FaceSeeds(own, np.zeros((4, 8), dtype=np.int32), flat, start, count)
    # shrink gives the cofaces the same lists faces_of does (first round)
    out = {
        "sites": sites,
        "side": np.zeros_like(sites),
        "edge": np.zeros(30, dtype=np.int32),
        "ystar": np.zeros((30, 3)),
        "status": np.zeros(30, dtype=np.int32),
    }
    kept = shrink(out, first_round=True)
    np.testing.assert_array_equal(kept["root"], flat)
    np.testing.assert_array_equal(kept["n_sites"], count)
