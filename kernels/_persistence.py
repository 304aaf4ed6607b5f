"""Persistence of a triangulated ball by union-find: the sequential loops, as one-thread
Warp kernels on the CPU, and their plain-Python references (the matrix reduction that
completes them in 3-D: :mod:`flood.kernels._reduction`).

Each launcher walks simplices in an order the caller gives (the filtration's, ties broken
by the caller) and returns, per simplex, whether it pairs and with what value:

* :func:`merge_components`: Kruskal's walk over the edges (H0). An edge joining two
  components kills the younger one (elder rule: the larger birth value dies).
* :func:`merge_cells`: the same walk over a dual graph, its nodes the top simplices and one
  outer node, its edges the codimension-1 simplices, taken in decreasing order (H_{d-1} of
  a subcomplex of a triangulated d-ball, by Alexander duality). A node's value is where
  its component began in that walk: the larger value is the elder.
* :func:`cofaces`: the one or two top simplices of each codimension-1 simplex.

They are sequential by nature (each step depends on all before), so each runs in one
thread; the caller sorts, gathers and checks in NumPy.
"""

import numpy as np
import warp as wp

wp.set_module_options({"enable_backward": False})


@wp.func
def find_root(parent: wp.array(dtype=wp.int32), x0: int):
    """Root of ``x0`` in the union-find forest ``parent``, halving the path on the way."""
    x = int(x0)
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = int(parent[x])
    return x


@wp.kernel
def merge_components_kernel(
    ends: wp.array2d(dtype=wp.int32),
    order: wp.array(dtype=wp.int32),
    birth: wp.array(dtype=wp.float64),
    parent: wp.array(dtype=wp.int32),
    larger_is_elder: int,
    merges: wp.array(dtype=wp.int32),
    killed: wp.array(dtype=wp.float64),
):
    for i in range(order.shape[0]):
        e = order[i]
        a = find_root(parent, int(ends[e, 0]))
        b = find_root(parent, int(ends[e, 1]))
        if a != b:
            elder = a
            younger = b
            if larger_is_elder == 0:
                if birth[b] < birth[a]:
                    elder = b
                    younger = a
            elif birth[b] > birth[a]:
                elder = b
                younger = a
            merges[e] = 1
            killed[e] = birth[younger]
            parent[younger] = wp.int32(elder)


def _merge(ends, order, birth, larger_is_elder):
    n_nodes = len(birth)
    parent = wp.array(np.arange(n_nodes, dtype=np.int32), dtype=wp.int32, device="cpu")
    births = wp.array(np.ascontiguousarray(birth, dtype=np.float64), device="cpu")
    merges = wp.zeros(len(ends), dtype=wp.int32, device="cpu")
    killed = wp.full(len(ends), np.nan, dtype=wp.float64, device="cpu")
    if len(order):
        wp.launch(
            merge_components_kernel,
            dim=1,
            inputs=[
                wp.array(np.ascontiguousarray(ends, dtype=np.int32), device="cpu"),
                wp.array(np.ascontiguousarray(order, dtype=np.int32), device="cpu"),
                births,
                parent,
                int(larger_is_elder),
            ],
            outputs=[merges, killed],
            device="cpu",
        )
    return merges.numpy().astype(bool), killed.numpy(), parent.numpy()


def merge_components(edges, order, vertex_values):
    """Kruskal's walk over ``edges`` in ``order`` (H0 by the elder rule).

    Parameters
    ----------
    edges : ndarray of int, shape (n_edges, 2)
    order : ndarray of int, shape (n_edges,)
        Edge rows in filtration order.
    vertex_values : ndarray of float64, shape (n_vertices,)
        Birth of each vertex.

    Returns
    -------
    merges : ndarray of bool, shape (n_edges,)
        Whether the edge joined two components (a negative edge: it kills one).
    killed : ndarray of float64, shape (n_edges,)
        Birth value of the component it killed (NaN where ``merges`` is False).
    roots : ndarray of int64
        One vertex per component left at the end (its birth: the component's smallest).
    """
    merges, killed, parent = _merge(edges, order, vertex_values, larger_is_elder=False)
    return merges, killed, _roots(parent)


def merge_cells(cofaces, order, cell_values):
    """The dual walk of H_{d-1}: ``cofaces[f]`` are the two nodes of dual edge ``f`` (top
    simplices, or the outer node ``len(cell_values) - 1`` whose value is ``inf``), ``order``
    the dual edges in decreasing filtration order. Returns ``merges`` (the positive
    codimension-1 simplices, each born with a (d-1)-class) and ``killed`` (the value at which
    that class dies: the largest value of the younger side), as :func:`merge_components`."""
    merges, killed, _ = _merge(cofaces, order, cell_values, larger_is_elder=True)
    return merges, killed


def merge_cells_reference(cofaces, order, cell_values):
    """Plain-Python version of :func:`merge_cells`."""
    return merge_components_reference(cofaces, order, cell_values, larger_is_elder=True)[:2]


def _roots(parent):
    return np.flatnonzero(parent == np.arange(len(parent))).astype(np.int64)


def merge_components_reference(edges, order, vertex_values, larger_is_elder=False):
    """Plain-Python union-find of :func:`merge_components` (and, with ``larger_is_elder``,
    of :func:`merge_cells`): returns (merges, killed, roots)."""
    parent = list(range(len(vertex_values)))
    birth = [float(v) for v in vertex_values]

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    merges = np.zeros(len(edges), dtype=bool)
    killed = np.full(len(edges), np.nan)
    for e in np.asarray(order).tolist():
        a, b = find(int(edges[e][0])), find(int(edges[e][1]))
        if a == b:
            continue
        swap = birth[b] > birth[a] if larger_is_elder else birth[b] < birth[a]
        elder, younger = (b, a) if swap else (a, b)
        merges[e], killed[e] = True, birth[younger]
        parent[younger] = elder
    roots = np.array([x for x in range(len(parent)) if parent[x] == x], dtype=np.int64)
    return merges, killed, roots


@wp.kernel
def cofaces_kernel(
    facets: wp.array2d(dtype=wp.int32),
    cofaces: wp.array2d(dtype=wp.int32),
    overfull: wp.array(dtype=wp.int32),
):
    for t in range(facets.shape[0]):
        for j in range(facets.shape[1]):
            f = facets[t, j]
            if cofaces[f, 0] < 0:
                cofaces[f, 0] = wp.int32(t)
            elif cofaces[f, 1] < 0:
                cofaces[f, 1] = wp.int32(t)
            else:
                overfull[0] = overfull[0] + 1


def cofaces(facets, n_faces):
    """The top simplices of each codimension-1 simplex.

    Parameters
    ----------
    facets : ndarray of int, shape (n_top, d + 1)
        Row index of each facet of each top simplex.
    n_faces : int

    Returns
    -------
    cofaces : ndarray of int64, shape (n_faces, 2)
        The top simplices that have it as a facet, -1 where fewer than two (a facet on the
        boundary has one, a face of no top simplex none).
    overfull : int
        How many times a face was met a third time (0 in a pseudo-manifold).
    """
    out = wp.full((n_faces, 2), -1, dtype=wp.int32, device="cpu")
    overfull = wp.zeros(1, dtype=wp.int32, device="cpu")
    if len(facets):
        wp.launch(
            cofaces_kernel,
            dim=1,
            inputs=[wp.array(np.ascontiguousarray(facets, dtype=np.int32), device="cpu")],
            outputs=[out, overfull],
            device="cpu",
        )
    return out.numpy().astype(np.int64), int(overfull.numpy()[0])


def cofaces_reference(facets, n_faces):
    """NumPy version of :func:`cofaces`."""
    out = np.full((n_faces, 2), -1, dtype=np.int64)
    overfull = 0
    for t, row in enumerate(np.asarray(facets).tolist()):
        for f in row:
            slot = np.flatnonzero(out[f] < 0)
            if len(slot):
                out[f, slot[0]] = t
            else:
                overfull += 1
    return out, overfull
