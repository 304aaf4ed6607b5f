"""Certified bounds on the covering radius of simplex cells, in Warp.

A *cell* is a k-simplex (a piece of a Delaunay simplex) given by k+1 vertices ``w_j`` whose
nearest points ``x_j`` in X (their *sites*) are known. With S the set of distinct sites,

    phi_S(y) = min over t in S of |y - t|  >=  d_X(y) = min over x in X of |y - x|,

so ``max over the cell of phi_S`` is an upper bound on the cell's covering radius, and d_X at
any point of the cell is a lower bound. ``phi_S`` is the lower envelope of the distance
functions of the sites; each is convex, so its maximum over the cell sits at a vertex of
(Voronoi cell of a site) ∩ (cell): a point in the relative interior of a face F of the cell,
dimension m, equidistant from m+1 sites. :func:`cell_bounds` enumerates all of them (faces x
site subsets of the same size, one m x m linear solve each) and returns the maximum, where it
is attained, and which site attains it. If d_X there equals phi_S there, the maximum is exact.

Longest-edge bisection (:func:`bisect_cells`) refines the cells whose bounds are not tight.
"""

import numpy as np
import warp as wp

from flood.kernels._tree import vec6

wp.set_module_options({"enable_backward": False})

MAX_VERTICES = 7  # simplices of dimension <= 6
MAX_EXTRA = 3  # extra sites per cell (nearest points found inside its ancestors)
ivec7 = wp.types.vector(length=MAX_VERTICES, dtype=wp.int32)
ivec10 = wp.types.vector(length=MAX_VERTICES + MAX_EXTRA, dtype=wp.int32)
mat66 = wp.types.matrix(shape=(6, 6), dtype=wp.float64)


@wp.func
def popcount(mask: int):
    c = int(0)
    m = mask
    while m != 0:
        c += m & 1
        m = m >> 1
    return c


@wp.func
def load_point(x: wp.array2d(dtype=wp.float64), i: int):
    y = vec6()
    for j in range(x.shape[1]):
        y[j] = x[i, j]
    return y


@wp.func
def site_distance(xs: wp.array2d(dtype=wp.float64), site: int, y: vec6):
    s = wp.float64(0.0)
    for j in range(xs.shape[1]):
        t = y[j] - xs[site, j]
        s += t * t
    return wp.sqrt(s)


@wp.func
def nearest_site(xs: wp.array2d(dtype=wp.float64), sites: ivec10, ns: int, y: vec6):
    """The site (index into xs) nearest to y among the first ``ns`` of ``sites``."""
    val = wp.float64(wp.inf)
    si = sites[0]
    for b in range(ns):
        dv = site_distance(xs, int(sites[b]), y)
        if dv < val:
            val = dv
            si = sites[b]
    return si


@wp.kernel
def cell_bound_kernel(
    pool_x: wp.array2d(dtype=wp.float64),
    pool_site: wp.array(dtype=wp.int32),
    xs: wp.array2d(dtype=wp.float64),
    cells: wp.array2d(dtype=wp.int32),
    extra: wp.array2d(dtype=wp.int32),
    upper: wp.array(dtype=wp.float64),
    ystar: wp.array2d(dtype=wp.float64),
    ysite: wp.array(dtype=wp.int32),
):
    c = wp.tid()
    kp1 = cells.shape[1]
    dim = pool_x.shape[1]

    sites = ivec10()
    ns = int(0)
    for a in range(kp1 + extra.shape[1]):
        s = wp.int32(-1)
        if a < kp1:
            s = pool_site[int(cells[c, a])]
        else:
            s = extra[c, a - kp1]
        dup = bool(s < 0)
        for b in range(ns):
            if sites[b] == s:
                dup = True
        if not dup:
            sites[ns] = s
            ns += 1

    best = wp.float64(-1.0)
    besty = vec6()
    bests = sites[0]

    for fm in range(1, 1 << kp1):
        m1 = popcount(fm)
        if m1 <= ns:
            face = ivec7()
            q = int(0)
            for a in range(kp1):
                if (fm >> a) & 1:
                    face[q] = wp.int32(a)
                    q += 1
            w0 = load_point(pool_x, int(cells[c, int(face[0])]))
            if m1 == 1:
                si = nearest_site(xs, sites, ns, w0)
                val = site_distance(xs, int(si), w0)
                if val > best:
                    best = val
                    besty = w0
                    bests = si
            else:
                m = m1 - 1
                for sm in range(1, 1 << ns):
                    if popcount(sm) == m1:
                        tsel = ivec7()
                        q = int(0)
                        for b in range(ns):
                            if (sm >> b) & 1:
                                tsel[q] = sites[b]
                                q += 1
                        # A c = r with A[i, j] = 2 e_j . (t_{i+1} - t_0), e_j = w_{j+1} - w_0,
                        # r_i = |t_{i+1} - w_0|^2 - |t_0 - w_0|^2.
                        A = mat66()
                        r = vec6()
                        amax = wp.float64(0.0)
                        for i in range(m):
                            r0 = wp.float64(0.0)
                            ri = wp.float64(0.0)
                            for l in range(dim):
                                u0 = xs[int(tsel[0]), l] - w0[l]
                                ui = xs[int(tsel[i + 1]), l] - w0[l]
                                r0 += u0 * u0
                                ri += ui * ui
                            r[i] = ri - r0
                            for j in range(m):
                                acc = wp.float64(0.0)
                                vj = int(cells[c, int(face[j + 1])])
                                for l in range(dim):
                                    e = pool_x[vj, l] - w0[l]
                                    acc += e * (xs[int(tsel[i + 1]), l] - xs[int(tsel[0]), l])
                                A[i, j] = wp.float64(2.0) * acc
                                amax = wp.max(amax, wp.abs(A[i, j]))
                        ok = bool(amax > wp.float64(0.0))
                        # Gaussian elimination with partial pivoting.
                        for p in range(m):
                            if ok:
                                piv = p
                                for i in range(p + 1, m):
                                    if wp.abs(A[i, p]) > wp.abs(A[piv, p]):
                                        piv = i
                                if wp.abs(A[piv, p]) <= wp.float64(1e-12) * amax:
                                    ok = False
                                else:
                                    if piv != p:
                                        for j in range(m):
                                            tmp = A[p, j]
                                            A[p, j] = A[piv, j]
                                            A[piv, j] = tmp
                                        tmp = r[p]
                                        r[p] = r[piv]
                                        r[piv] = tmp
                                    for i in range(p + 1, m):
                                        f = A[i, p] / A[p, p]
                                        for j in range(p, m):
                                            A[i, j] = A[i, j] - f * A[p, j]
                                        r[i] = r[i] - f * r[p]
                        if ok:
                            coef = vec6()
                            for ii in range(m):
                                i = m - 1 - ii
                                acc = r[i]
                                for j in range(i + 1, m):
                                    acc = acc - A[i, j] * coef[j]
                                coef[i] = acc / A[i, i]
                            total = wp.float64(0.0)
                            inside = bool(True)
                            for j in range(m):
                                if coef[j] < wp.float64(-1e-12):
                                    inside = False
                                coef[j] = wp.max(coef[j], wp.float64(0.0))
                                total += coef[j]
                            if total > wp.float64(1.0 + 1e-12):
                                inside = False
                            if inside:
                                if total > wp.float64(1.0):
                                    for j in range(m):
                                        coef[j] = coef[j] / total
                                y = w0
                                for j in range(m):
                                    vj = int(cells[c, int(face[j + 1])])
                                    for l in range(dim):
                                        y[l] = y[l] + coef[j] * (pool_x[vj, l] - w0[l])
                                si = nearest_site(xs, sites, ns, y)
                                val = site_distance(xs, int(si), y)
                                if val > best:
                                    best = val
                                    besty = y
                                    bests = si
    upper[c] = best
    ysite[c] = bests
    for l in range(dim):
        ystar[c, l] = besty[l]


@wp.kernel
def bisect_kernel(
    pool_x: wp.array2d(dtype=wp.float64),
    pool_site: wp.array(dtype=wp.int32),
    xs: wp.array2d(dtype=wp.float64),
    cells: wp.array2d(dtype=wp.int32),
    first_new: int,
    mid: wp.array2d(dtype=wp.float64),
    hint: wp.array(dtype=wp.int32),
    child_a: wp.array2d(dtype=wp.int32),
    child_b: wp.array2d(dtype=wp.int32),
):
    c = wp.tid()
    kp1 = cells.shape[1]
    dim = pool_x.shape[1]
    ea = int(0)
    eb = int(1)
    longest = wp.float64(-1.0)
    for a in range(kp1):
        for b in range(a + 1, kp1):
            s = wp.float64(0.0)
            for l in range(dim):
                t = pool_x[int(cells[c, a]), l] - pool_x[int(cells[c, b]), l]
                s += t * t
            if s > longest:
                longest = s
                ea = a
                eb = b
    y = vec6()
    va = int(cells[c, ea])
    vb = int(cells[c, eb])
    for l in range(dim):
        y[l] = wp.float64(0.5) * (pool_x[va, l] + pool_x[vb, l])
        mid[c, l] = y[l]
    best = wp.float64(wp.inf)
    h = pool_site[va]
    for a in range(kp1):
        sa = pool_site[int(cells[c, a])]
        dv = site_distance(xs, int(sa), y)
        if dv < best:
            best = dv
            h = sa
    hint[c] = h
    new = wp.int32(first_new + c)
    for a in range(kp1):
        child_a[c, a] = cells[c, a]
        child_b[c, a] = cells[c, a]
    child_a[c, eb] = new
    child_b[c, ea] = new


def _wp(a, dtype, device):
    return a if isinstance(a, wp.array) else wp.array(a, dtype=dtype, device=device)


def cell_bounds(pool_x, pool_site, xs, cells, extra=None, device="cpu"):
    """Exact maximum of ``phi_S`` over each cell (S: the sites of the cell's vertices, plus
    optional extra points of X per cell).

    Parameters
    ----------
    pool_x : ndarray of float64, shape (n_vertices, dim)
        Coordinates of all cell vertices.
    pool_site : ndarray of int32, shape (n_vertices,)
        Index into ``xs`` of each vertex's nearest point of X.
    xs : ndarray or warp.array2d of float64, shape (n_points, dim)
        The points of X.
    cells : ndarray of int32, shape (n_cells, k + 1)
        Vertex indices (into ``pool_x``) of each cell; ``k + 1 <= 7``, ``dim <= 6``.
    extra : ndarray of int32, shape (n_cells, n_extra), optional
        Further sites per cell (indices into ``xs``, -1 for none), ``n_extra <= 3``. Any
        points of X keep ``phi_S >= d_X``; nearby ones tighten the bound.
    device : str

    Returns
    -------
    upper : ndarray of float64, shape (n_cells,)
        ``max over the cell of phi_S``.
    ystar : ndarray of float64, shape (n_cells, dim)
        A point of the cell where it is attained.
    ysite : ndarray of int32, shape (n_cells,)
        The site nearest to ``ystar`` (index into ``xs``).
    """
    n, dim = len(cells), pool_x.shape[1]
    if extra is None:
        extra = np.full((n, 0), -1, dtype=np.int32)
    if extra.shape[1] > MAX_EXTRA:
        raise ValueError(f"at most {MAX_EXTRA} extra sites per cell; got {extra.shape[1]}")
    upper = wp.empty(n, dtype=wp.float64, device=device)
    ystar = wp.empty((n, dim), dtype=wp.float64, device=device)
    ysite = wp.empty(n, dtype=wp.int32, device=device)
    if n:
        wp.launch(
            cell_bound_kernel,
            dim=n,
            inputs=[
                _wp(pool_x, wp.float64, device),
                _wp(pool_site, wp.int32, device),
                _wp(xs, wp.float64, device),
                _wp(np.ascontiguousarray(cells, dtype=np.int32), wp.int32, device),
                _wp(np.ascontiguousarray(extra, dtype=np.int32), wp.int32, device),
            ],
            outputs=[upper, ystar, ysite],
            device=device,
        )
    return upper.numpy(), ystar.numpy(), ysite.numpy()


def cell_bounds_reference(pool_x, pool_site, xs, cells, extra=None):
    """NumPy reference for :func:`cell_bounds`: the same enumeration, written plainly."""
    from itertools import combinations

    xs = np.asarray(xs)
    out_u = np.empty(len(cells))
    out_y = np.empty((len(cells), pool_x.shape[1]))
    for c, cell in enumerate(np.asarray(cells)):
        w = pool_x[cell]
        more = [] if extra is None else [e for e in extra[c].tolist() if e >= 0]
        sites = list(dict.fromkeys(pool_site[cell].tolist() + more))
        t = xs[sites]
        best, besty = -1.0, None
        for m1 in range(1, len(cell) + 1):
            for face in combinations(range(len(cell)), m1):
                for sub in combinations(range(len(sites)), m1):
                    w0, e = w[face[0]], w[list(face[1:])] - w[face[0]]
                    if m1 == 1:
                        y = w0
                    else:
                        tt = t[list(sub)] - w0
                        A = 2 * (tt[1:] - tt[0]) @ e.T
                        r = (tt[1:] ** 2).sum(1) - (tt[0] ** 2).sum()
                        if abs(np.linalg.det(A)) < 1e-12 * max(abs(A).max(), 1e-300) ** len(A):
                            continue
                        coef = np.linalg.solve(A, r)
                        if coef.min() < -1e-12 or coef.sum() > 1 + 1e-12:
                            continue
                        y = w0 + np.clip(coef, 0, None) @ e
                    val = np.sqrt(((y - t) ** 2).sum(1)).min()
                    if val > best:
                        best, besty = val, y
        out_u[c], out_y[c] = best, besty
    return out_u, out_y


def bisect_cells(pool_x, pool_site, xs, cells, first_new, device="cpu"):
    """Split each cell at the midpoint of its longest edge.

    Returns
    -------
    mid : ndarray of float64, shape (n_cells, dim)
        The new vertices; vertex ``i`` gets pool index ``first_new + i``.
    hint : ndarray of int32, shape (n_cells,)
        The cell site nearest to each midpoint (a starting guess for its nearest point).
    child_a, child_b : ndarray of int32, shape (n_cells, k + 1)
        The two halves.
    """
    n, dim = len(cells), pool_x.shape[1]
    kp1 = cells.shape[1]
    mid = wp.empty((n, dim), dtype=wp.float64, device=device)
    hint = wp.empty(n, dtype=wp.int32, device=device)
    child_a = wp.empty((n, kp1), dtype=wp.int32, device=device)
    child_b = wp.empty((n, kp1), dtype=wp.int32, device=device)
    if n:
        wp.launch(
            bisect_kernel,
            dim=n,
            inputs=[
                _wp(pool_x, wp.float64, device),
                _wp(pool_site, wp.int32, device),
                _wp(xs, wp.float64, device),
                _wp(np.ascontiguousarray(cells, dtype=np.int32), wp.int32, device),
                int(first_new),
            ],
            outputs=[mid, hint, child_a, child_b],
            device=device,
        )
    return mid.numpy(), hint.numpy(), child_a.numpy(), child_b.numpy()
