"""The column reduction that completes the union-find walks of
:mod:`flood.kernels._persistence` in 3-D: the standard reduction over Z/p of a sparse
matrix whose columns hold at most a few rows (the edges of a triangle), reduced columns kept
in a pool; one sequential loop, as a one-thread Warp kernel on the CPU, and its
plain-Python reference.
"""

import numpy as np
import warp as wp

wp.set_module_options({"enable_backward": False})

#: Pool of reduced columns, per column, first try (triangles' reduced columns in Delaunay
#: filtrations hold a few rows; the launcher retries with a pool four times larger).
POOL_PER_COLUMN = 8


@wp.func
def add_multiple(
    rows: wp.array(dtype=wp.int32),
    coef: wp.array(dtype=wp.int32),
    a0: int,
    na: int,
    pool_rows: wp.array(dtype=wp.int32),
    pool_coef: wp.array(dtype=wp.int32),
    b0: int,
    nb: int,
    factor: int,
    field: int,
    o0: int,
):
    """Column a (at ``a0`` in ``rows``/``coef``) plus ``factor`` times pool column b, mod
    ``field``, written at ``o0``; rows stay decreasing, zero entries are dropped. Returns
    the length."""
    i = int(0)
    j = int(0)
    n = int(0)
    while i < na or j < nb:
        x = int(-1)
        y = int(-1)
        if i < na:
            x = int(rows[a0 + i])
        if j < nb:
            y = int(pool_rows[b0 + j])
        c = int(0)
        r = int(x)
        if x > y:
            c = int(coef[a0 + i])
            i += 1
        elif y > x:
            r = y
            c = (factor * int(pool_coef[b0 + j])) % field
            j += 1
        else:
            c = (int(coef[a0 + i]) + factor * int(pool_coef[b0 + j])) % field
            i += 1
            j += 1
        if c != 0:
            rows[o0 + n] = wp.int32(r)
            coef[o0 + n] = wp.int32(c)
            n += 1
    return n


@wp.func
def load_column(
    columns: wp.array2d(dtype=wp.int32),
    signs: wp.array2d(dtype=wp.int32),
    j: int,
    rows: wp.array(dtype=wp.int32),
    coef: wp.array(dtype=wp.int32),
):
    """Copy the nonzero entries of column ``j`` (rows decreasing, -1 padded; coefficients
    reduced mod the field) to the front of the work buffers."""
    n = int(0)
    for k in range(columns.shape[1]):
        r = columns[j, k]
        if r >= 0 and signs[j, k] != 0:
            rows[n] = r
            coef[n] = signs[j, k]
            n += 1
    return n


@wp.kernel
def reduce_columns_kernel(
    columns: wp.array2d(dtype=wp.int32),
    signs: wp.array2d(dtype=wp.int32),
    inverse: wp.array(dtype=wp.int32),
    field: int,
    owner: wp.array(dtype=wp.int32),
    rows: wp.array(dtype=wp.int32),
    coef: wp.array(dtype=wp.int32),
    half: int,
    pool_rows: wp.array(dtype=wp.int32),
    pool_coef: wp.array(dtype=wp.int32),
    start: wp.array(dtype=wp.int32),
    length: wp.array(dtype=wp.int32),
    pivot: wp.array(dtype=wp.int32),
    status: wp.array(dtype=wp.int32),
):
    top = int(0)
    for j in range(columns.shape[0]):
        cur = int(0)
        n = int(load_column(columns, signs, j, rows, coef))
        while n > 0:
            o = owner[rows[cur]]
            if o < 0:
                break
            # cancel the pivot: a + factor * b with factor = -a_p / b_p
            factor = (field - (int(coef[cur]) * int(inverse[pool_coef[start[o]]])) % field) % field
            other = half - cur
            n = add_multiple(
                rows, coef, cur, n, pool_rows, pool_coef, start[o], length[o], factor, field, other
            )
            cur = other
        if n > 0:
            if top + n > pool_rows.shape[0]:
                status[1] = 1
                return
            for k in range(n):
                pool_rows[top + k] = rows[cur + k]
                pool_coef[top + k] = coef[cur + k]
            start[j] = wp.int32(top)
            length[j] = wp.int32(n)
            top += n
            owner[rows[cur]] = wp.int32(j)
            pivot[j] = rows[cur]
    status[0] = wp.int32(top)


def _inverses(field):
    """``inverse[x] * x = 1 (mod field)`` for x = 1 .. field - 1 (a prime)."""
    inverse = np.zeros(field, dtype=np.int32)
    inverse[1:] = [pow(x, field - 2, field) for x in range(1, field)]
    return inverse


def reduce_columns(columns, signs, n_rows, field):
    """Pivots of the reduced matrix over Z/``field``, columns left to right.

    Parameters
    ----------
    columns : ndarray of int, shape (n_columns, width)
        Row indices of each column in decreasing order, padded with -1 (a row index is the
        row's position in the filtration order of the rows).
    signs : ndarray of int, shape (n_columns, width)
        Each entry's coefficient (+1 or -1 in a boundary matrix; any integer).
    n_rows : int
    field : int
        A prime: the coefficients are taken modulo it.

    Returns
    -------
    pivot : ndarray of int64, shape (n_columns,)
        Lowest row (largest index) of each reduced column; -1 where it reduced to zero.
    """
    cols = wp.array(np.ascontiguousarray(columns, dtype=np.int32), device="cpu")
    coefs = wp.array(np.ascontiguousarray(np.mod(signs, field), dtype=np.int32), device="cpu")
    inverse = wp.array(_inverses(field), device="cpu")
    m = len(columns)
    half = n_rows + 1  # a reduced column never holds more rows than there are
    capacity = POOL_PER_COLUMN * max(m, 1)
    while True:
        pivot = wp.full(m, -1, dtype=wp.int32, device="cpu")
        status = wp.zeros(2, dtype=wp.int32, device="cpu")
        if m:
            work = [wp.empty(2 * half, dtype=wp.int32, device="cpu") for _ in range(2)]
            pool = [wp.empty(capacity, dtype=wp.int32, device="cpu") for _ in range(2)]
            wp.launch(
                reduce_columns_kernel,
                dim=1,
                inputs=[
                    cols,
                    coefs,
                    inverse,
                    int(field),
                    wp.full(n_rows, -1, dtype=wp.int32, device="cpu"),
                    *work,
                    half,
                ],
                outputs=[
                    *pool,
                    wp.zeros(m, dtype=wp.int32, device="cpu"),
                    wp.zeros(m, dtype=wp.int32, device="cpu"),
                    pivot,
                    status,
                ],
                device="cpu",
            )
        if status.numpy()[1] == 0:
            return pivot.numpy().astype(np.int64)
        capacity *= 4


def reduce_columns_reference(columns, signs, n_rows, field):
    """Plain-Python column reduction of :func:`reduce_columns` (dicts row -> coefficient)."""
    owner, reduced = {}, []
    pivot = np.full(len(columns), -1, dtype=np.int64)
    for j, (col, sgn) in enumerate(zip(np.asarray(columns).tolist(), np.asarray(signs).tolist())):
        z = {r: c % field for r, c in zip(col, sgn) if r >= 0 and c % field}
        while z and max(z) in owner:
            low = max(z)
            other = reduced[owner[low]]
            factor = -z[low] * pow(other[low], field - 2, field)
            for r, c in other.items():
                z[r] = (z.get(r, 0) + factor * c) % field
                if z[r] == 0:
                    del z[r]
        reduced.append(z)
        if z:
            owner[max(z)] = j
            pivot[j] = max(z)
    return pivot
