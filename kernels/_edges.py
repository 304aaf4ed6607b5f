"""The edge search of a cut: which kept vertex each removed vertex of P shares an edge with.

Two vertices span an edge iff their common constraints number at least k and no third
vertex has them all (the combinatorial test: exact for degenerate polytopes too, since
masks are maintained combinatorially, never re-measured). The edge
search reads per-constraint *vertex sets* (for each constraint slot, a bit set of the vertices
holding it, kept up to date through every cut): a removed vertex q with exactly k+1
constraints has its neighbours in the sets S_j = the vertices holding all of q's constraints
but j; S_j = {q, p} makes (q, p) an edge at once, and a larger S_j (a degenerate face) or a
q with more constraints gets the combinatorial test above, its "third vertex" found by the
AND of the common constraints' sets. For k = 3 (the costliest tasks of clouds in 3-D) the
rows of each S_j are named once per vertex, not read bit by bit off its mask, and the four
S_j are built in one pass from four row reads a word (:func:`edges_of_simple4`: the same
sets in the same order, ~10 % of the kernel at 1,000 landmarks).
"""

import warp as wp

from flood.kernels._polytope import N_WORDS, bit, low_bit

wp.set_module_options({"enable_backward": False})

PAIR_SHIFT = 12  # an edge (p, q) is stored as p * PAIR_BASE + q (vertices < 4096)
PAIR_BASE = 1 << PAIR_SHIFT


@wp.func
def holders_are_two(
    pm: wp.array2d(dtype=wp.uint64),
    vs: wp.array2d(dtype=wp.uint64),
    p: int,
    q: int,
    nw: int,
):
    """Whether p and q are the only vertices holding every constraint they share (with
    >= k shared, the combinatorial edge test: exact for degenerate polytopes too)."""
    n = int(0)
    for w in range(nw):
        x = ~wp.uint64(0)
        for j in range(N_WORDS):
            m = pm[p, j] & pm[q, j]
            while m != wp.uint64(0):
                x = x & vs[64 * j + low_bit(m), w]
                m = m & (m - wp.uint64(1))
        n += wp.bit_count(x)
    return n == 2


@wp.func
def add_pair(pairs: wp.array1d(dtype=wp.int32), p: int, q: int, npair: int, room: int):
    """Append edge (p, q); -1 once ``room`` new vertices are used up (and after)."""
    if npair < 0:
        return npair
    if npair >= room:
        return -1
    pairs[npair] = wp.int32(p * PAIR_BASE + q)
    return npair + 1


@wp.func
def holders_but(vs: wp.array2d(dtype=wp.uint64), rest: wp.uint64, w: int):
    """Word w of the set of vertices holding every constraint in ``rest``."""
    x = ~wp.uint64(0)
    m = rest
    while m != wp.uint64(0):
        x = x & vs[low_bit(m), w]
        m = m & (m - wp.uint64(1))
    return x


@wp.func
def edges_of_simple(
    pm: wp.array2d(dtype=wp.uint64),
    ps: wp.array1d(dtype=wp.float64),
    vs: wp.array2d(dtype=wp.uint64),
    pairs: wp.array1d(dtype=wp.int32),
    q: int,
    nw: int,
    npair: int,
    room: int,
):
    """Edges from the removed vertex q with exactly k + 1 constraints to kept vertices. A
    neighbour holds all of q's constraints but (at most) one, j: it lies in S_j, the set of
    vertices holding the other k, which holds q too. When S_j is {q, p}, (p, q) is an edge
    (no third vertex holds what they share); a larger S_j (degenerate) gets the
    combinatorial test for each member. A p holding all of q's constraints (coinciding with
    q) lies in every S_j and is taken at the lowest j only."""
    mq = pm[q, 0]  # one mask word (N_WORDS == 1)
    lowest = mq ^ (mq & (mq - wp.uint64(1)))
    mj = mq
    while mj != wp.uint64(0):
        lj = mj ^ (mj & (mj - wp.uint64(1)))
        mj = mj & (mj - wp.uint64(1))
        rest = mq ^ lj
        count = int(0)
        other = int(-1)
        for w in range(nw):
            x = holders_but(vs, rest, w)
            count += wp.bit_count(x)
            if w == q // 64:
                x = x & ~bit(q - 64 * w)
            if x != wp.uint64(0):
                other = 64 * w + low_bit(x)
        if count == 2:
            p = other
            if ((pm[p, 0] & lj) == wp.uint64(0) or lj == lowest) and ps[p] > wp.float64(0.0):
                npair = add_pair(pairs, p, q, npair, room)
        elif count > 2:
            for w in range(nw):
                x = holders_but(vs, rest, w)
                while x != wp.uint64(0):
                    p = 64 * w + low_bit(x)
                    x = x & (x - wp.uint64(1))
                    first = (pm[p, 0] & lj) == wp.uint64(0) or lj == lowest
                    if p != q and first and ps[p] > wp.float64(0.0):
                        if holders_are_two(pm, vs, p, q, nw):
                            npair = add_pair(pairs, p, q, npair, room)
    return npair


@wp.func
def simple4_pair(
    pm: wp.array2d(dtype=wp.uint64),
    ps: wp.array1d(dtype=wp.float64),
    vs: wp.array2d(dtype=wp.uint64),
    pairs: wp.array1d(dtype=wp.int32),
    q: int,
    j: int,
    lj: wp.uint64,
    ra: int,
    rb: int,
    rc: int,
    count: int,
    other: int,
    nw: int,
    npair: int,
    room: int,
):
    """The edges of :func:`edges_of_simple4` in S_j (the AND of rows ra, rb, rc), given its
    size and, when that is 2, its member other than q."""
    if count == 2:
        p = other
        if ((pm[p, 0] & lj) == wp.uint64(0) or j == 0) and ps[p] > wp.float64(0.0):
            npair = add_pair(pairs, p, q, npair, room)
    elif count > 2:
        for w in range(nw):
            x = vs[ra, w] & vs[rb, w] & vs[rc, w]
            while x != wp.uint64(0):
                p = 64 * w + low_bit(x)
                x = x & (x - wp.uint64(1))
                first = (pm[p, 0] & lj) == wp.uint64(0) or j == 0
                if p != q and first and ps[p] > wp.float64(0.0):
                    if holders_are_two(pm, vs, p, q, nw):
                        npair = add_pair(pairs, p, q, npair, room)
    return npair


@wp.func
def edges_of_simple4(
    pm: wp.array2d(dtype=wp.uint64),
    ps: wp.array1d(dtype=wp.float64),
    vs: wp.array2d(dtype=wp.uint64),
    pairs: wp.array1d(dtype=wp.int32),
    q: int,
    nw: int,
    npair: int,
    room: int,
):
    """:func:`edges_of_simple` for k = 3 (q holds four constraints c0 < c1 < c2 < c3, the
    common case of the costliest tasks): S_j is the AND of the three rows other than c_j,
    built for all four j in one pass over the words from the four rows and two shared
    ANDs (r0 & r1, r2 & r3): four row reads a word, not twelve. The same sets, taken in the
    same order (j = 0 .. 3), so the same pairs."""
    m = pm[q, 0]  # one mask word (N_WORDS == 1)
    c0 = int(low_bit(m))
    m = m & (m - wp.uint64(1))
    c1 = int(low_bit(m))
    m = m & (m - wp.uint64(1))
    c2 = int(low_bit(m))
    m = m & (m - wp.uint64(1))
    c3 = int(low_bit(m))
    n0 = int(0)
    n1 = int(0)
    n2 = int(0)
    n3 = int(0)
    o0 = int(-1)
    o1 = int(-1)
    o2 = int(-1)
    o3 = int(-1)
    wq = q // 64
    for w in range(nw):
        r01 = vs[c0, w] & vs[c1, w]
        r23 = vs[c2, w] & vs[c3, w]
        x0 = vs[c1, w] & r23
        x1 = vs[c0, w] & r23
        x2 = r01 & vs[c3, w]
        x3 = r01 & vs[c2, w]
        n0 += wp.bit_count(x0)
        n1 += wp.bit_count(x1)
        n2 += wp.bit_count(x2)
        n3 += wp.bit_count(x3)
        not_q = ~wp.uint64(0)
        if w == wq:
            not_q = ~bit(q - 64 * w)
        x0 = x0 & not_q
        x1 = x1 & not_q
        x2 = x2 & not_q
        x3 = x3 & not_q
        if x0 != wp.uint64(0):
            o0 = 64 * w + low_bit(x0)
        if x1 != wp.uint64(0):
            o1 = 64 * w + low_bit(x1)
        if x2 != wp.uint64(0):
            o2 = 64 * w + low_bit(x2)
        if x3 != wp.uint64(0):
            o3 = 64 * w + low_bit(x3)
    npair = simple4_pair(pm, ps, vs, pairs, q, 0, bit(c0), c1, c2, c3, n0, o0, nw, npair, room)
    npair = simple4_pair(pm, ps, vs, pairs, q, 1, bit(c1), c0, c2, c3, n1, o1, nw, npair, room)
    npair = simple4_pair(pm, ps, vs, pairs, q, 2, bit(c2), c0, c1, c3, n2, o2, nw, npair, room)
    npair = simple4_pair(pm, ps, vs, pairs, q, 3, bit(c3), c0, c1, c2, n3, o3, nw, npair, room)
    return npair


@wp.func
def shares_at_least(pm: wp.array2d(dtype=wp.uint64), p: int, q: int, k: int):
    """Whether vertices p and q share at least k constraints."""
    c = int(0)
    for w in range(N_WORDS):
        c += int(wp.bit_count(pm[p, w] & pm[q, w]))
    return c >= k


@wp.func
def find_edges(
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    nneg: int,
    k: int,
    max_vertices: int,
):
    """Edges from a kept (+) to a removed (-) vertex, into ``pairs``; -1 if P would pass
    ``max_vertices``. Two vertices span an edge iff they share >= k constraints and no
    third vertex holds them all (the combinatorial test: exact for degenerate polytopes).
    The per-constraint vertex sets ``vs`` give a simple vertex's neighbours in a few word
    operations; a degenerate one (more than k + 1 constraints) scans every vertex."""
    nw = (nv + 63) // 64
    room = max_vertices - nv
    npair = int(0)
    # the task's rows as views: the searches index them without t (fewer live values)
    pmt = pm[t]
    pst = ps[t]
    vst = vs[t]
    out = pairs[t]
    removed = negs[t]
    iq = int(0)
    while iq < nneg:
        q = int(removed[iq])
        iq += 1
        nq = int(0)
        for w in range(N_WORDS):
            nq += int(wp.bit_count(pmt[q, w]))
        if nq == 4 and k == 3 and N_WORDS == 1:  # the fast searches read one mask word
            npair = edges_of_simple4(pmt, pst, vst, out, q, nw, npair, room)
        elif nq == k + 1 and N_WORDS == 1:
            npair = edges_of_simple(pmt, pst, vst, out, q, nw, npair, room)
        else:
            for p in range(nv):
                if p != q and pst[p] > wp.float64(0.0) and shares_at_least(pmt, p, q, k):
                    if holders_are_two(pmt, vst, p, q, nw):
                        npair = add_pair(out, p, q, npair, room)
    return npair
