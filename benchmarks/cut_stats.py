"""What the S-loop does per simplex: queries, cuts, the polytope's size at a cut, candidates
and sites, per dimension; the counts behind the kernel's cost (issue 30, fifth round).

For one cloud (the cached inputs of ``filtration_time.py``: landmarks, Delaunay, tol) builds
the certified kernel with its event counters on (:mod:`flood.kernels._counters`: a separate
variant, compiled on first use; the normal build has no counter code) and runs
:func:`flood._certify.certified_bounds` on one thread::

    python benchmarks/cut_stats.py --landmarks 1000,10000

Per dimension it prints, per simplex: queries, cuts (each classifies every vertex of the
polytope), candidates added without a query; per cut: the polytope's vertices and how many
the cut removed, and the share of cuts skipped; per task (simplices and the pieces the host
split off): the sites still active when it ended. The queries counted in the kernel must
equal the ones ``certified_bounds`` reports (its edges also count one query per landmark):
the script exits with status 1 where they do not. Timings are left out: the counters'
atomic adds slow the kernel (``same_bounds.py`` and ``profile_kernel.py`` time it).
"""

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from same_bounds import input_options, parse_counts  # noqa: E402


def counts_for(cloud, n, landmarks, cache):
    """(simplices per dimension, the counters' rows per dimension, queries per dimension
    as ``certified_bounds`` reports them, landmarks)."""
    from filtration_time import inputs

    from flood._certify import certified_bounds
    from flood._complex import _index
    from flood.kernels._counters import read_counters, reset_counters

    Xc, L, sites, simplices, facets, values, tol = inputs(cloud, n, landmarks, 0, cache)
    tree, _ = _index(Xc, "cpu")
    reset_counters()
    kw = dict(vertex_values=values, n_threads=1)
    _, _, stats = certified_bounds(tree, L, sites, simplices, facets, tol, **kw)
    rows = read_counters()
    reported = {k: int(stats.queries[k]) for k in range(1, len(simplices))}
    return [len(s) for s in simplices], rows, reported, len(L)


def table(sizes, rows, reported, n_landmarks):
    """Markdown rows, and whether the kernel's query counts match the reported ones."""
    from flood.kernels._counters import (
        EV_CANDIDATES,
        EV_CUTS,
        EV_QUERIES,
        EV_REMOVED,
        EV_SITES,
        EV_SKIPPED,
        EV_TASKS,
        EV_VERTICES,
    )

    out, ok = [], True
    for k in range(1, len(sizes)):
        n, r = sizes[k], rows[k]
        if not n:
            continue
        expected = reported[k] - (n_landmarks if k == 1 else 0)
        ok = ok and int(r[EV_QUERIES]) == expected
        cuts = max(int(r[EV_CUTS]), 1)
        out.append(
            f"| {k} | {n:,} | {r[EV_TASKS]:,} | {r[EV_QUERIES] / n:.2f} | {r[EV_CUTS] / n:.1f} "
            f"| {r[EV_VERTICES] / cuts:.1f} | {r[EV_REMOVED] / cuts:.2f} "
            f"| {100 * r[EV_SKIPPED] / cuts:.0f} % | {r[EV_CANDIDATES] / n:.1f} "
            f"| {r[EV_SITES] / max(int(r[EV_TASKS]), 1):.1f} |"
        )
    return out, ok


HEADER = (
    "| k | simplices | tasks | queries / simplex | cuts / simplex | vertices at a cut "
    "| removed per cut | cuts skipped | candidates / simplex | sites at the end / task |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    input_options(p)
    a = p.parse_args(argv)
    try:
        counts = parse_counts(a.landmarks)
        if a.n < 1:
            raise ValueError(f"--n must be >= 1; got {a.n}")
    except ValueError as exc:
        p.error(str(exc))
    from flood.kernels._counters import count_events

    count_events()  # before the certified kernel's first launch in this process
    good = True
    for landmarks in counts:
        sizes, rows, reported, n_landmarks = counts_for(a.cloud, a.n, landmarks, a.cache)
        lines, ok = table(sizes, rows, reported, n_landmarks)
        good = good and ok
        print(f"\n{a.cloud}, {a.n:,} points, {landmarks:,} landmarks (one thread)\n")
        print(HEADER)
        print("\n".join(lines))
        if not ok:
            print("the kernel's query counts differ from certified_bounds' (see above)")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
