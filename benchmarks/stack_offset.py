"""How the certified kernel's speed depends on where the launching thread's stack lies.

    python benchmarks/stack_offset.py [--cloud cheese] [--n 1000000] [--landmarks 1000]
        [--offsets 0:4096:256] [--repeats 1]

Runs ``certified_bounds`` on one thread (the filtration of one cloud, inputs cached as
``filtration_time.py`` caches them) from inside a small C function that first moves the stack
down by ``n`` bytes (``alloca``), for each ``n`` of ``--offsets`` (start:stop:step), and
prints the thread's CPU seconds per offset, their spread and the ratio of the slowest to the
fastest. Needs a C compiler (``cc``) to build the shim (a few lines, built into a temporary
folder). The values do not depend on the offset; the script checks that the sums of the upper
bounds are the same at every offset.

Found with it (benchmarks/RESULTS.md, Dask): one block of the 10^7-point cheese read
1.92-2.35 s over 32-byte steps (2.35 at 128 bytes, 1.96 at 0), and a dask worker's executor
thread sat at a slow placement (the blocks ran ~20 % slower there than in one process).
"""

import argparse
import ctypes
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SHIM = r"""
#include <alloca.h>
typedef double (*callback)(void);
double call_below(callback fn, int n) {
    volatile char *p = alloca(n + 1);  /* the callee's frames start n bytes lower */
    p[0] = 0; p[n] = 0;
    return fn();
}
"""


def build_shim(folder):
    """The shim's shared library, built with ``cc`` in ``folder``; None without a compiler."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    src, lib = pathlib.Path(folder, "shim.c"), pathlib.Path(folder, "libshim.so")
    src.write_text(SHIM)
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    shim = ctypes.CDLL(str(lib))
    shim.call_below.restype = ctypes.c_double
    shim.call_below.argtypes = [ctypes.CFUNCTYPE(ctypes.c_double), ctypes.c_int]
    return shim


def parse_offsets(text):
    """``start:stop:step`` (bytes) as a list of offsets; a single number is one offset."""
    parts = [int(p) for p in text.split(":")]
    if len(parts) == 1:
        parts = [parts[0], parts[0] + 1, 1]
    if len(parts) != 3 or parts[0] < 0 or parts[1] <= parts[0] or parts[2] < 1:
        raise ValueError(
            f"--offsets must be start:stop:step with 0 <= start < stop, step >= 1; got {text!r}"
        )
    if parts[1] > 1 << 20:
        raise ValueError(f"--offsets: stop must be at most {1 << 20} bytes; got {parts[1]}")
    return list(range(*parts))


def sweep(run, shim, offsets, repeats):
    """Per offset, the CPU seconds of ``run`` called ``repeats`` times below that offset (the
    fastest) and what it returned (the same every time)."""
    errors = []

    def guarded():  # ctypes would print an error raised in a callback and return 0
        try:
            return run()
        except BaseException as error:
            errors.append(error)
            return float("nan")

    cb = ctypes.CFUNCTYPE(ctypes.c_double)(guarded)  # kept alive over the calls
    seconds, sums = {}, {}
    for o in offsets:
        best = np.inf
        for _ in range(repeats):
            t = shim.call_below(cb, o)
            if errors:
                raise errors[0]
            best = min(best, t)
        seconds[o] = best
        sums[o] = run.last
    return seconds, sums


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud", default="cheese")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--offsets", default="0:4096:256")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument(
        "--cache", default=os.path.join(tempfile.gettempdir(), "flood_filtration_inputs")
    )
    a = p.parse_args(argv)
    if a.repeats < 1:
        p.error(f"--repeats must be >= 1; got {a.repeats}")
    try:
        offsets = parse_offsets(a.offsets)
    except ValueError as error:
        p.error(str(error))

    from filtration_time import inputs
    from scaling import git_commit

    from flood._certify import certified_bounds
    from flood._complex import _index

    Xc, L, sites, simplices, facets, values, tol = inputs(a.cloud, a.n, a.landmarks, 0, a.cache)
    tree, _ = _index(Xc, "cpu")

    def run():
        cpu = time.thread_time()
        _, upper, _ = certified_bounds(
            tree, L, sites, simplices, facets, tol, vertex_values=values, n_threads=1
        )
        run.last = tuple(float(u.sum()) for u in upper[1:])
        return time.thread_time() - cpu

    run()  # kernels loaded
    with tempfile.TemporaryDirectory() as folder:
        shim = build_shim(folder)
        if shim is None:
            sys.exit("stack_offset.py: no C compiler (cc, gcc or clang) to build the shim")
        seconds, sums = sweep(run, shim, offsets, a.repeats)
    print(
        f"flood commit {git_commit()}; {a.cloud}, N={a.n:,}, {a.landmarks:,} landmarks; "
        f"certified_bounds on one thread, CPU seconds (fastest of {a.repeats}) per stack offset"
    )
    for o, s in seconds.items():
        print(f"  {o:6d} bytes  {s:.3f} s")
    t = np.array(list(seconds.values()))
    print(f"spread {t.min():.3f}-{t.max():.3f} s, slowest / fastest {t.max() / t.min():.3f}")
    if len(set(sums.values())) != 1:
        sys.exit("stack_offset.py: the upper bounds changed with the offset")
    print(f"upper-bound sums identical at every offset: {next(iter(sums.values()))}")


if __name__ == "__main__":
    main()
