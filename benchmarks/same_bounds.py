"""Same bounds, and one thread's CPU: the instrument of a pure speed step of the kernel.

For one cloud (the cached inputs of ``filtration_time.py``: landmarks, Delaunay, tol) runs
:func:`flood._certify.certified_bounds` on one thread and prints its CPU seconds per run
(process time: the machine's other jobs move it less than wall time) and, against a run
saved before (``--save`` on the old code, then ``--compare`` on the new), whether every
simplex's lower and upper bound is the same bit for bit, and where not, whether the two
certified intervals still overlap (both hold the true value, so they must: a disjoint pair
is a bug, a moved one a change of values within tol)::

    git stash; python benchmarks/same_bounds.py --landmarks 1000,10000 --save /tmp/before
    git stash pop; python benchmarks/same_bounds.py --landmarks 1000,10000 --compare /tmp/before

One process against the next moves the CPU seconds by 3-5 % here (where the launching
thread's stack lies, see ``stack_offset.py``): alternate old and new in several processes
before calling a difference under ~5 % real.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def parse_counts(text):
    """``--landmarks`` as a list of positive ints."""
    try:
        counts = [int(x) for x in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 2:
        raise ValueError(f"--landmarks must be comma-separated integers >= 2; got {text!r}")
    return counts


def input_options(p):
    """The options that name the cached inputs of ``filtration_time.py`` (also
    ``cut_stats.py``'s): --cloud, --n, --landmarks, --cache."""
    p.add_argument("--cloud", default="cheese")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--landmarks", default="1000")
    p.add_argument(
        "--cache", default=os.path.join(tempfile.gettempdir(), "flood_filtration_inputs")
    )


def bounds(cloud, n, landmarks, repeats, cache):
    """(lower, upper per dimension, CPU seconds per run, tol) of one thread's run."""
    from filtration_time import inputs

    from flood._certify import certified_bounds
    from flood._complex import _index

    Xc, L, sites, simplices, facets, values, tol = inputs(cloud, n, landmarks, 0, cache)
    tree, _ = _index(Xc, "cpu")
    kw = dict(vertex_values=values, n_threads=1)
    certified_bounds(tree, L, sites, simplices[:2], facets[:2], tol, **kw)  # compiles
    seconds = []
    for _ in range(repeats):
        c0 = time.process_time()
        lower, upper, _ = certified_bounds(tree, L, sites, simplices, facets, tol, **kw)
        seconds.append(time.process_time() - c0)
    return lower[1:], upper[1:], seconds, tol


def compare(lower, upper, path):
    """(simplices whose bounds differ, intervals disjoint from the saved ones, dimensions)."""
    z = np.load(path)
    moved = disjoint = 0
    for k, (lo, up) in enumerate(zip(lower, upper)):
        lo0, up0 = z[f"l{k}"], z[f"u{k}"]
        if lo0.shape != lo.shape:
            raise ValueError(f"{path}: dimension {k + 1} has {len(lo0)} simplices, now {len(lo)}")
        moved += int(np.count_nonzero((lo != lo0) | (up != up0)))
        slack = 1e-12 * np.maximum(1.0, np.abs(up0))
        disjoint += int(np.count_nonzero((lo > up0 + slack) | (lo0 > up + slack)))
    return moved, disjoint


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    input_options(p)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--save", metavar="DIR", help="write each run's bounds here")
    p.add_argument("--compare", metavar="DIR", help="compare with the bounds saved here")
    a = p.parse_args(argv)
    try:
        counts = parse_counts(a.landmarks)
        if a.repeats < 1:
            raise ValueError(f"--repeats must be >= 1; got {a.repeats}")
        if a.compare and not os.path.isdir(a.compare):
            raise ValueError(f"--compare must be a folder written by --save; got {a.compare!r}")
    except ValueError as exc:
        p.error(str(exc))
    differs = False
    for landmarks in counts:
        lower, upper, seconds, tol = bounds(a.cloud, a.n, landmarks, a.repeats, a.cache)
        name = f"{a.cloud}_{a.n}_{landmarks}.npz"
        cpu = ", ".join(f"{s:.3f}" for s in seconds)
        gap = max(float((u - lo).max()) for lo, u in zip(lower, upper) if len(u))
        sums = " / ".join(repr(float(u.sum())) for u in upper)
        line = (
            f"{landmarks} landmarks: CPU {cpu} s (one thread); max gap {gap:.3g} "
            f"(tol {tol:.3g}); upper sums {sums}"
        )
        if a.save:
            os.makedirs(a.save, exist_ok=True)
            arrays = {f"l{k}": x for k, x in enumerate(lower)}
            arrays.update({f"u{k}": x for k, x in enumerate(upper)})
            np.savez(os.path.join(a.save, name), **arrays)
            line += "; saved"
        if a.compare:
            moved, disjoint = compare(lower, upper, os.path.join(a.compare, name))
            line += f"; bounds moved {moved}, disjoint {disjoint}"
            line += " (identical)" if moved == 0 else ""
            differs = differs or disjoint > 0
        print(line, flush=True)
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
