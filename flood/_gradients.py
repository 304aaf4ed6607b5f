"""Gradients of Flood values: each critical simplex's witness and KKT weights (NumPy, host).

``f(s) = max over y in conv(s) of d_X(y)``. At a maximizer y* in the relative interior of a
face F of s (barycentric coordinates beta_v > 0 on F's vertices v) with the active points
A = {x_j in X : |y* - x_j| = f}, the envelope theorem for the max-min gives weights
lambda_j >= 0, sum_j lambda_j = 1, with ``sum_j lambda_j (y* - x_j)`` orthogonal to F, and

    df/dx_j = lambda_j (x_j - y*) / f,        df/dv = beta_v sum_j lambda_j (y* - x_j) / f,

every other point and vertex 0 (../shared/DESIGN.md section 8). Consequences, tested:
translation moves nothing (the terms sum to 0, as sum beta = 1 and sum lambda = 1) and
``sum x . grad = f`` (degree-1 homogeneity).

What is computed here, per critical simplex (a few thousand at 10^6 points; never per
point of X): the face F from the barycentric coordinates of the kernel's maximizer
(:func:`flood._certify.maximizers`; coordinates below :data:`BARYCENTRIC_TOL` drop), its
active points from a k-d tree over X (within :data:`ACTIVE_RTOL` of d_X there), then

1. *polish*: y* is moved to the point of aff(F) equidistant from A (a small linear
   system; generic |A| = dim F + 1). At ``tol=0`` the kernel's maximizer is exact to about
   1e-12 relative and its value (the midpoint of the bounds) to about 3e-10; the polished
   value ``min_j |y* - x_j|`` is exact to rounding, which finite differences need. When
   the system is underdetermined or its solution leaves F, y* stays the kernel's point.
2. *KKT weights*: the minimum-norm solution of ``E^T sum_j lambda_j (y* - x_j) = 0``,
   ``sum lambda = 1`` (E: F's edge directions); unique in the generic case, the symmetric
   choice when A is larger (a symmetric, degenerate configuration gets symmetric weights).
   Where it has a negative weight (no convex combination satisfies the condition, which
   happens at ``tol > 0`` where y is only a tol-maximizer), the nonnegative least-squares
   weights (scipy's NNLS) are taken and normalized to sum 1. Either way the result is
   finite and, where f is not differentiable (several maximizers or a larger A), a Clarke
   subgradient: a convex combination of the gradients of the active pieces. A value of 0
   (a vertex that is a point of X) gets the zero subgradient.

At ``tol > 0`` the maximizer is a tol-maximizer: the same rule at it gives the gradient of
``d_X`` there (exact where its active points satisfy the condition, an approximation
within the certified gap otherwise).
"""

from dataclasses import dataclass

import numpy as np

#: Barycentric coordinates of a maximizer below this are 0 (its face is smaller): measured
#: at tol=0 on 2-D and 3-D Gaussian clouds, zero coordinates come out <= 1.4e-14 and the
#: others >= 1e-4 (none in between in 588 simplices).
BARYCENTRIC_TOL = 1e-9
#: Points within ``(1 + ACTIVE_RTOL) d_X(y)`` of a maximizer y are active: at tol=0 the
#: active distances agree to 1e-12 relative, the next point measured 1.2e-5 further out.
ACTIVE_RTOL = 1e-8
#: A polished maximizer that moved more than this times f from the kernel's is refused (the
#: active set or face was misread): tol=0 maximizers are exact to ~1e-12 relative.
POLISH_RTOL = 1e-6
#: Values below this times the cloud's extent are 0: a landmark given as coordinates on a
#: point of X comes back through the centring shift off by rounding (~1e-16 relative), and
#: a value of 1e-17 would get a unit gradient in a meaningless direction.
ZERO_RTOL = 1e-12


@dataclass
class Jacobian:
    """Sparse derivatives of n values: value ``owner[i]`` moves by ``coef[i] . dx`` when
    row ``rows[i]`` of the points (``point_*``) or of the landmarks (``vertex_*``) moves
    by dx."""

    values: np.ndarray  # (n,) float64: the polished values
    point_rows: np.ndarray  # (m,) int64, rows of X
    point_owner: np.ndarray  # (m,) int64, index of the value
    point_coef: np.ndarray  # (m, dim) float64
    vertex_rows: np.ndarray  # (p,) int64, rows of the result's landmarks
    vertex_owner: np.ndarray
    vertex_coef: np.ndarray


def simplex_jacobian(tree, points, corners, vertex_ids, maximizer, n_threads=1, zero=0.0):
    """Values and sparse derivatives of n simplices of one dimension k.

    Parameters
    ----------
    tree : scipy.spatial.cKDTree
        Over ``points``.
    points : ndarray of shape (n_points, dim)
    corners : ndarray of shape (n, k + 1, dim)
        Vertex coordinates of each simplex.
    vertex_ids : ndarray of int of shape (n, k + 1)
        Landmark row of each corner (``vertex_rows`` of the result).
    maximizer : ndarray of shape (n, dim)
        A (tol-)maximizer of d_X on each simplex.
    n_threads : int
        Workers of the k-d tree queries.
    zero : float
        Values at or below it are 0, with the zero subgradient.

    Returns
    -------
    jacobian : Jacobian
    """
    n, dim = maximizer.shape
    beta = barycentric(corners, maximizer)
    d0, _ = tree.query(maximizer, k=1, workers=n_threads)
    radius = d0 * (1 + ACTIVE_RTOL) + np.finfo(np.float64).tiny
    active = tree.query_ball_point(maximizer, radius, workers=n_threads)
    face = beta > BARYCENTRIC_TOL
    n_face = face.sum(axis=1)
    n_active = np.fromiter(map(len, active), dtype=np.int64, count=n)
    values = np.zeros(n)  # a vertex on a point of X (d0 = 0): value 0, zero subgradient
    parts = []
    left = d0 > zero
    for size in np.unique(n_face[left & (n_active == n_face)]):
        rows = np.flatnonzero(left & (n_active == n_face) & (n_face == size))
        done, part = _generic(points, corners, vertex_ids, maximizer, face, active, rows, size)
        values[rows[done]] = part[0]
        parts.append(part[1:])
        left[rows[done]] = False
    for i in np.flatnonzero(left):  # degenerate or misread: one at a time
        f = face[i]
        A = np.asarray(active[i], dtype=np.int64)
        y, b, value = polish(corners[i][f], points[A], maximizer[i], beta[i][f])
        lam = kkt_weights(corners[i][f], points[A], y, value)
        values[i] = value
        parts.append(
            _terms(
                A[None],
                vertex_ids[i][f][None],
                points[A][None],
                y[None],
                np.array([value]),
                lam[None],
                b[None],
                np.array([i]),
            )
        )
    if not parts:
        parts.append(
            _terms(
                *(np.zeros((0, 1), np.int64),) * 2,
                np.zeros((0, 1, dim)),
                np.zeros((0, dim)),
                np.zeros(0),
                np.zeros((0, 1)),
                np.zeros((0, 1)),
                np.zeros(0, np.int64),
            )
        )
    cat = [np.concatenate(column) for column in zip(*parts)]
    return Jacobian(values, *cat)


def _generic(points, corners, vertex_ids, maximizer, face, active, rows, size):
    """The generic case, vectorized over ``rows``: |A| = dim F + 1 = ``size``. Returns the
    mask of rows it solved (the others go to the one-at-a-time path) and, for those, the
    values and the terms (:func:`_terms`)."""
    order = np.argsort(~face[rows], axis=1, kind="stable")[:, :size]  # F's corners first
    V = np.take_along_axis(corners[rows], order[..., None], axis=1)  # (g, size, dim)
    vid = np.take_along_axis(vertex_ids[rows], order, axis=1)
    A = np.array([active[i] for i in rows], dtype=np.int64).reshape(len(rows), size)
    Xa = points[A]
    y0 = maximizer[rows]
    P, Q = V - y0[:, None], Xa - y0[:, None]
    E = (P[:, 1:] - P[:, :1]).transpose(0, 2, 1)  # (g, dim, p): F's edges
    ok = np.ones(len(rows), dtype=bool)
    if size == 1:
        y, b = V[:, 0], np.ones((len(rows), 1))
    else:
        # y = P0 + E t equidistant from the active points (centred at y0, as in polish)
        D = Q[:, :1] - Q[:, 1:]  # (g, p, dim)
        lhs = 2 * D @ E
        rhs = (Q[:, :1] ** 2).sum(-1) - (Q[:, 1:] ** 2).sum(-1) - 2 * (D @ P[:, 0, :, None])[..., 0]
        sv = np.linalg.svd(lhs, compute_uv=False)
        ok &= sv[:, -1] > 1e-12 * sv[:, 0]
        t = (np.linalg.pinv(lhs) @ rhs[..., None])[..., 0]
        moved = P[:, 0] + (E @ t[..., None])[..., 0]
        b = np.concatenate([1 - t.sum(axis=1, keepdims=True), t], axis=1)
        scale = np.linalg.norm(Q[:, 0], axis=1)
        ok &= (b.min(axis=1) > -BARYCENTRIC_TOL) & (
            np.linalg.norm(moved, axis=1) <= POLISH_RTOL * scale
        )
        y = y0 + moved
        b = np.maximum(b, 0)
        b /= b.sum(axis=1, keepdims=True)
    value = np.sqrt(((Xa - y[:, None]) ** 2).sum(-1)).min(axis=1)
    # KKT weights: [E^T G^T; 1] lam = e_last, square in the generic case
    G = (y[:, None] - Xa) / value[:, None, None]
    En = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), np.finfo(float).tiny)
    system = np.concatenate(
        [En.transpose(0, 2, 1) @ G.transpose(0, 2, 1), np.ones((len(rows), 1, size))], axis=1
    )
    sv = np.linalg.svd(system, compute_uv=False)
    ok &= sv[:, -1] > 1e-12 * sv[:, 0]
    lam = np.linalg.pinv(system)[:, :, -1]
    ok &= np.all(np.isfinite(lam), axis=1) & (lam.min(axis=1) >= -BARYCENTRIC_TOL)
    lam = np.maximum(lam, 0)
    lam /= np.where(ok, lam.sum(axis=1), 1.0)[:, None]
    at = np.flatnonzero(ok)
    terms = _terms(A[ok], vid[ok], Xa[ok], y[ok], value[ok], lam[ok], b[ok], rows[ok])
    return at, (value[ok], *terms)


def _terms(A, vid, Xa, y, value, lam, b, owner):
    """Sparse terms of g values: df/dx_j = lambda_j (x_j - y) / f on active points ``A``
    (g, m), df/dv = -beta_v sum_j df/dx_j on face vertices ``vid`` (g, p + 1)."""
    pull = lam[..., None] * (Xa - y[:, None]) / value[:, None, None]
    keep = lam > 0
    vcoef = -b[..., None] * pull.sum(axis=1)[:, None, :]
    dim = Xa.shape[-1]
    return (
        A[keep],
        np.broadcast_to(owner[:, None], A.shape)[keep],
        pull[keep].reshape(-1, dim),
        vid.reshape(-1),
        np.broadcast_to(owner[:, None], vid.shape).reshape(-1),
        vcoef.reshape(-1, dim),
    )


def barycentric(corners, y):
    """Barycentric coordinates of each y on its simplex's affine hull, shape (n, k + 1)."""
    n, m, dim = corners.shape
    system = np.concatenate([corners.transpose(0, 2, 1), np.ones((n, 1, m))], axis=1)
    rhs = np.concatenate([y, np.ones((n, 1))], axis=1)[:, :, None]
    return (np.linalg.pinv(system) @ rhs)[:, :, 0]


def polish(face, active, y0, beta0):
    """The point of aff(face) equidistant from the active points, its barycentric
    coordinates on the face and its value ``min_j |y - x_j|``; the kernel's point ``y0``
    (coordinates ``beta0``) where that point is not determined or leaves the face."""
    p = len(face) - 1
    y, beta = (face[0], np.ones(1)) if p == 0 else (y0, beta0 / beta0.sum())
    if p > 0 and len(active) - 1 >= p:
        # centred at y0 for conditioning: y = P0 + E t, |y - x_j|^2 = |y - x_0|^2 for all j
        P, Q = face - y0, active - y0
        E = (P[1:] - P[0]).T
        D = Q[0] - Q[1:]
        lhs = 2 * D @ E
        rhs = (Q[0] @ Q[0]) - np.einsum("ij,ij->i", Q[1:], Q[1:]) - 2 * D @ P[0]
        t, _, rank, _ = np.linalg.lstsq(lhs, rhs, rcond=None)
        moved = P[0] + E @ t
        b = np.concatenate([[1 - t.sum()], t])
        scale = np.linalg.norm(Q[0])
        if (
            rank == p
            and b.min() > -BARYCENTRIC_TOL
            and np.linalg.norm(moved) <= (POLISH_RTOL * scale)
        ):
            y, beta = y0 + moved, np.maximum(b, 0) / np.maximum(b, 0).sum()
    return y, beta, float(np.sqrt(((active - y) ** 2).sum(axis=1)).min())


def kkt_weights(face, active, y, value):
    """lambda_j >= 0, sum 1, with ``sum_j lambda_j (y - x_j)`` orthogonal to the face: the
    minimum-norm solution where it is nonnegative, else NNLS normalized to sum 1."""
    m = len(active)
    if m == 1:
        return np.ones(1)
    G = (y - active) / value  # unit vectors from the active points
    E = (face[1:] - face[0]).T
    if E.shape[1]:
        E = E / np.linalg.norm(E, axis=0)
    system = np.vstack([E.T @ G.T, np.ones((1, m))])
    rhs = np.zeros(len(system))
    rhs[-1] = 1.0
    lam = np.linalg.lstsq(system, rhs, rcond=None)[0]
    if lam.min() < -BARYCENTRIC_TOL or not np.all(np.isfinite(lam)):
        from scipy.optimize import nnls

        lam = nnls(system, rhs)[0]
    lam = np.maximum(lam, 0)
    total = lam.sum()
    return lam / total if total > 0 else np.full(m, 1.0 / m)


@dataclass
class CriticalPairs:
    """The persistence pairs of a FloodResult as indices into the values of its critical
    simplices: pair i of dimension ``dimension[i]`` is born at value ``birth[i]`` and dies
    at value ``death[i]`` (-1: an essential class, dying at inf)."""

    dimension: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    jacobian: Jacobian
    ids: np.ndarray = None  # global simplex id of each value (flood._cycles.offsets)


def persistence_jacobian(result, points, homology_dimensions, min_persistence, n_threads=1):
    """The pairs of ``result.diagrams(homology_dimensions, min_persistence)`` (same rule for
    zero persistence) with the values and sparse derivatives of their critical simplices.

    Each finite diagram coordinate is the filtration value of a simplex
    (``SimplexTree.persistence_pairs``). Its face-propagated value is used: where a face t
    of s has the larger lower bound, :func:`flood._certify.maximizers` gives s the
    maximizer of t, and the barycentric coordinates of that point on s name the face it
    lies in, so the derivative goes to the vertices and active points of the face whose
    value is used.

    Parameters
    ----------
    result : FloodResult
        With ``maximizers`` (the certified method on an in-memory cloud).
    points : ndarray of shape (n_points, dim)
        The cloud the result was computed from.
    homology_dimensions : tuple of int
    min_persistence : float
    n_threads : int

    Returns
    -------
    pairs : CriticalPairs
    """
    from scipy.spatial import cKDTree

    from flood._cycles import gudhi_pairs, offsets, split_ids
    from flood._diagrams import zero_persistence_threshold

    pairs = gudhi_pairs(result.simplex_tree(), result.simplices)
    values = np.concatenate(result.filtration)
    death_value = np.where(pairs.death >= 0, values[np.maximum(pairs.death, 0)], np.inf)
    cut = max(min_persistence, zero_persistence_threshold(result.filtration))
    keep = np.isin(pairs.dimension, homology_dimensions) & (death_value - values[pairs.birth] > cut)
    dimension, birth, death = pairs.dimension[keep], pairs.birth[keep], pairs.death[keep]
    ids, inverse = np.unique(np.concatenate([birth, death[death >= 0]]), return_inverse=True)
    birth_idx = inverse[: len(birth)]
    death_idx = np.full(len(death), -1, dtype=np.int64)
    death_idx[death >= 0] = inverse[len(birth) :]
    tree = cKDTree(points, balanced_tree=False, compact_nodes=False)
    zero = ZERO_RTOL * float(np.ptp(points, axis=0).max()) if len(points) else 0.0
    offs = offsets(result.simplices)
    k_of, row_of = split_ids(ids, offs)
    parts = []
    for k in np.unique(k_of):
        at = np.flatnonzero(k_of == k)
        simplices = result.simplices[k][row_of[at]]
        corners = result.landmarks[simplices]
        # a vertex is its own maximizer (its copy in result.maximizers went through the
        # centring shift: off by rounding, which would give a value of 1e-17, not 0)
        where = corners[:, 0] if k == 0 else result.maximizers[k][row_of[at]]
        part = simplex_jacobian(tree, points, corners, simplices, where, n_threads, zero)
        parts.append((at, part))
    jacobian = _merge(parts, len(ids), points.shape[1])
    return CriticalPairs(dimension, birth_idx, death_idx, jacobian, ids)


def _merge(parts, n, dim):
    """One Jacobian of n values from the parts of each dimension (``at``: their indices)."""
    values = np.zeros(n)
    fields = {name: [np.zeros(0, np.int64)] for name in ("pr", "po", "vr", "vo")}
    coefs = {"pc": [np.zeros((0, dim))], "vc": [np.zeros((0, dim))]}
    for at, part in parts:
        values[at] = part.values
        fields["pr"].append(part.point_rows)
        fields["po"].append(at[part.point_owner])
        fields["vr"].append(part.vertex_rows)
        fields["vo"].append(at[part.vertex_owner])
        coefs["pc"].append(part.point_coef)
        coefs["vc"].append(part.vertex_coef)
    cat = {name: np.concatenate(v) for name, v in {**fields, **coefs}.items()}
    return Jacobian(values, cat["pr"], cat["po"], cat["pc"], cat["vr"], cat["vo"], cat["vc"])
