"""Short representative loops of H1 bars: the shortest loop of the complex at the birth on
which a persistent cocycle of the bar is odd, checked against the reduction.

Why. The reduced column ``R[tau]`` of a death edge's triangle is a valid representative of
its bar but an arbitrary one: any cycle of the complex at the birth that differs from it
by boundaries and by the cycles of bars born no later and dead no later represents the same
bar (the change of basis is triangular in the elder order, so the barcode and the other
bars' representatives are untouched). Among these, the shortest (Euclidean length of its
edges) is the loop one expects: on a torus, one loop around the tube and one around the
axis rather than a diagonal (1, 1) loop.

How. Oineus' cohomology reduction gives, for a bar (sigma, tau), a cochain ``omega`` on the
edges of index >= sigma whose coboundary touches only triangles of index >= tau: a cocycle
of every complex K_t with sigma <= t < tau, with omega(z_sigma) = 1 and omega = 0 on the
cycles of the bars born before sigma. The loops of K_t on which omega is odd are the
classes ``A + (older classes) + boundaries``; the shortest is a shortest path in the
double cover of the 1-skeleton (an edge with omega = 1 swaps the two sheets). The found
loop is accepted only if the reduction writes it as the bar's cycle plus cycles of bars
that die no later (:meth:`flood._cycles.OineusReducer.represents`); else the next
candidate, and ``R[tau]`` last.

Two complexes are searched, and the shorter loop kept: K at the birth (every edge entered
at or before it) and K at the birth + ``tol``. Flood values are certified within ``tol``:
bars born within ``tol`` of each other are in no certified order, and the loop may add the
cycles of bars born in that window that die first. There ``omega`` is first made blind to
the classes born in the window and alive at its end (adding their cocycles in birth
order), so that odd still means "holds the bar". So every edge of the loop enters by
birth + ``tol``. Measured on a 20k-point torus (R 1, r 0.35, 400 landmarks, tol 0.0014,
seed 0): the loop around the tube is born 0.00013 after the loop around the axis, whose
only representatives at its own birth wind around both (the shortest, 9.3 long, winds
(1, 1)); with the window, 5.3 long, it winds (0, 1). At the birth the complex is still
full of small holes (bars of persistence 0.01-0.025), which the loops found there wind
around: seeds 0-3, 4.0-9.3 long at the birth vs 2.8-5.6 with the window.
"""

import numpy as np

#: Sources of the double-cover search: beyond this many odd edges, only the shortest ones
#: start a loop (the window adds a few dozen; the cost grows with their number).
MAX_SOURCES = 256


def shortest_odd_loop(edges, lengths, odd, n_vertices, limit=np.inf):
    """Rows of ``edges`` forming the shortest closed walk (mod 2) that crosses the edges
    with ``odd`` set an odd number of times; None when there is none as short as
    ``limit`` (the search goes no farther: a known loop's length keeps it local).

    Parameters
    ----------
    edges : ndarray of int64 of shape (n_edges, 2)
    lengths : ndarray of float64 of shape (n_edges,)
    odd : ndarray of bool of shape (n_edges,)
    n_vertices : int
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    if not odd.any():
        return None
    u, v = edges[:, 0], edges[:, 1]
    flip = odd.astype(np.int64) * n_vertices
    # sheet 0 <-> sheet 0 (or 1 across an odd edge), and the mirror
    a = np.concatenate([u, u + n_vertices])
    b = np.concatenate([v + flip, v + n_vertices - flip])
    w = np.concatenate([lengths, lengths])
    w = np.maximum(w, 1e-300)  # a zero weight would read as no edge
    graph = coo_matrix((w, (a, b)), shape=(2 * n_vertices, 2 * n_vertices)).tocsr()
    crossing = np.flatnonzero(odd)
    crossing = crossing[np.argsort(lengths[crossing], kind="stable")[:MAX_SOURCES]]
    sources, at = np.unique(u[crossing], return_inverse=True)
    dist, pred = dijkstra(
        graph, directed=False, indices=sources, return_predecessors=True, limit=limit
    )
    # the walk: crossing edge (u, v) then back from v to u on the same sheet
    total = lengths[crossing] + dist[at, v[crossing]]
    best = int(np.argmin(total))
    if not np.isfinite(total[best]):
        return None
    e, row = int(crossing[best]), int(at[best])
    path = [int(v[e])]
    while path[-1] != sources[row]:
        path.append(int(pred[row, path[-1]]))
    hops = np.sort(np.c_[path[:-1], path[1:]] % n_vertices, axis=1)
    rows = _edge_rows(edges, hops)
    chain = np.concatenate([rows, [e]])
    ids, count = np.unique(chain, return_counts=True)
    return ids[count % 2 == 1]


def _edge_rows(edges, pairs):
    """Row of each (sorted) vertex pair among ``edges`` (sorted rows)."""
    key = edges[:, 0] * (edges.max() + 1) + edges[:, 1]
    order = np.argsort(key)
    want = pairs[:, 0] * (edges.max() + 1) + pairs[:, 1]
    return order[np.searchsorted(key[order], want)]


def short_loop(reducer, birth, death, simplices, landmarks, tol):
    """Global ids (dimension 1) of the shortest loop found for the H1 bar (birth, death),
    a valid representative (see the module); None when no candidate passes."""
    values = reducer.values
    offs = reducer.offsets
    edges = np.asarray(simplices[1], dtype=np.int64)
    edge_values = values[offs[1] : offs[2]]
    lengths = np.linalg.norm(landmarks[edges[:, 0]] - landmarks[edges[:, 1]], axis=1)
    # R[tau] is odd on every cocycle below and lies in K at the birth: no shorter loop is
    # farther away than its length
    column = reducer.id_of_sorted[np.asarray(reducer.decomposition.r_col(int(reducer.rank[death])))]
    limit = lengths[column - offs[1]].sum() * (1 + 1e-9)
    found = []
    windows = (0.0, float(tol)) if np.isfinite(tol) and tol > 0 else (0.0,)  # grid: NaN
    for window in windows:
        t = values[birth] + window
        if window and t >= values[death]:
            break
        omega = reducer.cocycle(birth, t if window else None)
        present = np.flatnonzero(edge_values <= t)
        odd = np.isin(offs[1] + present, omega)
        rows = shortest_odd_loop(edges[present], lengths[present], odd, len(landmarks), limit)
        if rows is not None and reducer.represents(offs[1] + present[rows], birth, death):
            found.append((offs[1] + present[rows], lengths[present[rows]].sum()))
    if not found:
        return None
    return min(found, key=lambda c: c[1])[0]
