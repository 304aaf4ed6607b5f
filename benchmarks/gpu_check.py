"""First-GPU check: the certified kernel on CPU and on CUDA, compared as intervals, and timed.

Usage::

    python benchmarks/gpu_check.py                          # cpu vs cuda:0, 100k-point cheese
    python benchmarks/gpu_check.py --n-points 1000000       # the 1M-point swiss cheese too
    python benchmarks/gpu_check.py --devices cpu            # dry run: cpu vs cpu, no GPU needed
    python benchmarks/gpu_check.py --n-points 0             # the small cases only

One command (issue 30, point 5). It

1. reports what is installed (Python, NumPy, SciPy, scikit-learn, joblib, tqdm, torch and
   its GPU, warp-lang, gudhi, fpsample) and, when ``warp`` cannot be imported, prints how
   to bring it (below) and exits with status 3;
2. runs the certified kernel on the first device of ``--devices`` (the reference) and on
   the second (``cuda:0`` by default; the first again for a dry run) on the kernel tests'
   cases, mirrored from ``tests/test_exact.py`` (``tol=0`` on uniform clouds in 2-D and
   3-D, clustered clouds, landmarks not in X, 20k-point torus and cheese whose tasks are
   split into pieces, 4-D to 6-D normal clouds) and ``tests/test_kernels.py``
   (``certify_tasks`` on random simplices at ``tol=0``), then on a swiss cheese of
   ``--n-points`` points (:func:`flood.datasets.make_swiss_cheese`, ``random_state=0``)
   with ``--landmarks`` landmarks. Every case uses fixed seeds; its landmarks are picked
   once (farthest point sampling in NumPy from row 0, so fpsample is not needed and this
   machine and the GPU machine pick the same ones) and passed as coordinates to both
   devices, with the same ``tol`` (the reference run's);
3. compares per simplex, as INTERVALS, not bits (CUDA contracts ``a * b + c`` to FMA, so
   the last bits differ): the two devices must give the same simplices; for every simplex
   the reference interval ``[lower, upper]`` and the other one must overlap up to
   ``--slack`` times the case's scale (its largest upper bound, at least 1), since both
   contain the exact value; and each gap ``upper - lower`` must be at most
   ``tol * (1 + 1e-9)`` plus 1e-9 of the scale (``tol=0`` leaves rounding, about 1e-10).
   The table's ``separation`` is the largest ``max(lowers) - min(uppers)`` over the
   simplices (negative: every pair overlaps, by at least its absolute value), ``|du| max``
   the largest difference of the upper bounds. A case that raises on either device is a
   failed row carrying the message (column ``error``), and the next case runs;
4. times both: ``compile`` (Warp builds the kernels for a device on first use; the GPU
   machine starts with an empty cache), and per case the filtration seconds
   (``FloodResult.timings["filtration"]``) and ``flood_complex`` end to end; prints one
   table and writes ``gpu_check.json`` (environment, options, compile seconds, every
   row, each run's stage timings, verdict) and ``gpu_check.csv`` (the rows) to ``--out``
   (default ``$OUT`` when set, which the device tool brings back, else a new temporary
   folder), both rewritten after each case, so a run stopped at its limit leaves its part;
5. exits 1 on any mismatch (2 when a requested device is missing, 3 when warp is).

Expected time on one H100 (16 cores): the small cases take seconds per device; the first
CUDA launch compiles the kernel modules with NVRTC (about a minute, estimated; no GPU
has run them yet); the 1M-point cheese takes about 10-20 s to make and pick landmarks
(NumPy FPS, 1,000 iterations over 10^6 rows) and a few seconds per device (2.7 s of
filtration on 2 CPU cores today). Measured here, 2 cores with a compression job
beside: ``--devices cpu --n-points 1000000`` ran in 32 s (filtration 5.3 s per run, peak
RSS 0.9 GB), ``--n-points 20000`` in 6 s. On the GPU machine, with the warp install
below, expect 2-4 minutes in all, well inside one 10-minute command.

Default device
--------------
:func:`flood._validation.check_device` resolves ``device=None`` to ``cuda:0`` whenever
Warp sees a GPU, although no CUDA result has ever been compared with the CPU. This script
passes the device explicitly and does not depend on that default. Recommendation (for the
library, not changed here): make ``device=None`` resolve to ``"cpu"`` until this check has
passed on a GPU (CUDA opt-in with ``device="cuda"``), and switch the default back to CUDA
when present once ``gpu_check`` has passed on an H100/H200 with ``--n-points 1000000`` and
its JSON is recorded in RESULTS.md.

Bringing what the GPU machine lacks
-----------------------------------
The GPU machine we expect (see the device tool's notes) has Python 3.12, PyTorch, NumPy,
SciPy, scikit-learn, joblib and tqdm, but not warp-lang, gudhi or fpsample, no flood
install and no network. This check needs only ``warp-lang`` (pyproject pins
``warp-lang>=1.19,<2``; this project runs 1.19.0): flood imports gudhi only for
diagrams and fpsample only to pick landmarks itself, and this script does neither.
``flood`` itself is imported from the checkout (``flood.kernels`` and ``flood.datasets``
live in the top-level ``kernels/`` and ``datasets/`` folders; the script maps them when
flood is not installed, so no ``pip install -e .`` is needed there).

On a machine with network, in the repository root::

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 \\
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \\
        -d .whl "warp-lang==1.19.0"
    # optional, not needed by this check (pyproject: gudhi>=3.9, fpsample>=1.0):
    #   add "gudhi==3.13.0" "fpsample==1.0.2" to the same command

The device tool carries at most 64 MiB per call, and the warp-lang 1.19.0 wheel is about
149 MB (392 MB unpacked: ``warp.so`` 299 MB with NVRTC inside, ``warp-clang.so`` 69 MB
for CPU kernels; ``xz -6`` of the unpacked files is still 109 MB, measured here). It
cannot travel whole in one call: split it into parts under the limit and carry one
ignored folder per call, back to back on the same warm machine (it keeps ignored files
between calls, but stays warm only about 30 s after each)::

    echo /.whl1/ /.whl2/ /.whl3/ | tr ' ' '\\n' >> .git/info/exclude
    w=$(cd .whl && ls warp_lang-1.19.0-*.whl)    # the name pip saved: pip checks its tags
    split -b 55m .whl/$w .whl/$w.part.           # .part.aa .part.ab .part.ac
    mkdir -p .whl1 .whl2 .whl3
    mv .whl/$w.part.aa .whl1/; mv .whl/$w.part.ab .whl2/; mv .whl/$w.part.ac .whl3/
    # call 1: carry [".whl1"], command "true"; call 2: carry [".whl2"], command "true";
    # call 3: carry [".whl3"], command (one line there):
    w=$(basename .whl1/*.part.aa .part.aa); cat .whl?/$w.part.* > /tmp/$w &&
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/$w &&
    export PYTHONPATH=/tmp/site && PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py \\
        --n-points 1000000 --out $OUT

If a part is missing there (the machine went back between calls), the joined file is
short and pip refuses it: start again from call 1. Each start costs device time: make
the three calls back to back, then give the machine back.
"""

import argparse
import csv
import importlib.util
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
#: Package -> version, for the report (None when missing).
PACKAGES = ("numpy", "scipy", "sklearn", "joblib", "tqdm", "torch", "warp", "gudhi", "fpsample")
COLUMNS = [
    "case",
    "k",
    "n_simplices",
    "tol",
    "scale",
    "ref_max_gap",
    "other_max_gap",
    "max_separation",
    "max_upper_diff",
    "ref_filtration_s",
    "other_filtration_s",
    "ref_total_s",
    "other_total_s",
    "ok",
    "error",
]
WARP_HELP = """warp (the warp-lang package) is not installed here, and flood needs it.
Bring the wheel as the docstring of benchmarks/gpu_check.py says:
  on a networked machine: python3 -m pip download --no-deps --only-binary=:all: \\
      --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \\
      --platform manylinux_2_17_x86_64 -d .whl "warp-lang==1.19.0"
  (about 149 MB: split it under the device tool's 64 MiB carry limit, carry the parts
  in back-to-back calls, join them), then here:
  python3 -m pip install --no-index --no-deps --target /tmp/site <the joined wheel>
  export PYTHONPATH=/tmp/site"""


def import_flood():
    """Import flood from the checkout when it is not installed (maps ``flood.kernels`` and
    ``flood.datasets`` to the top-level ``kernels/`` and ``datasets/`` folders)."""
    try:
        import flood.kernels  # noqa: F401

        return "installed"
    except ModuleNotFoundError as exc:
        if exc.name not in ("flood", "flood.kernels", "flood.datasets"):
            raise
    for name in [m for m in sys.modules if m == "flood" or m.startswith("flood.")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "flood",
        REPO / "flood" / "__init__.py",
        submodule_search_locations=[str(REPO / "flood"), str(REPO)],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["flood"] = module
    spec.loader.exec_module(module)
    return f"from the checkout {REPO}"


def environment():
    """Versions of what the check may use, and the GPU torch sees."""
    env = {"python": platform.python_version(), "machine": platform.machine()}
    for name in PACKAGES:
        try:
            module = __import__(name)
            env[name] = getattr(module, "__version__", "present")
        except ImportError:
            env[name] = None
    if env["torch"]:
        import torch

        if torch.cuda.is_available():
            p = torch.cuda.get_device_properties(0)
            env["torch_gpu"] = f"{p.name}, {p.multi_processor_count} SMs"
        else:
            env["torch_gpu"] = None
    return env


def fps(X, m):
    """Farthest point sampling from row 0 in NumPy: deterministic, needs no fpsample."""
    m = min(int(m), len(X))
    idx = np.empty(m, dtype=np.int64)
    idx[0] = 0
    D = X - X[0]
    d = np.einsum("ij,ij->i", D, D)
    for i in range(1, m):
        idx[i] = int(np.argmax(d))
        D = X - X[idx[i]]
        np.minimum(d, np.einsum("ij,ij->i", D, D), out=d)
    return X[idx]


def _clusters():
    rng = np.random.default_rng(5)  # test_certificates_on_clustered_clouds
    centres = rng.uniform(-1, 1, size=(6, 3))
    scales = [0.01, 0.02, 0.05, 0.1, 0.2, 0.02]
    return np.concatenate([rng.normal(c, s, size=(120, 3)) for c, s in zip(centres, scales)])


def _not_in_x(dim):
    rng = np.random.default_rng(9 + dim)  # test_certificates_with_landmarks_not_in_X
    X = rng.normal(size=(400, dim))
    return X, rng.uniform(-1.5, 1.5, size=(12, dim))


def cases(n_points, n_landmarks):
    """(name, make, landmarks, tol or None), mirrored from tests/test_exact.py, then the swiss
    cheese of ``n_points`` (none when 0). ``make()`` gives the cloud X; ``landmarks`` is a
    count (farthest point sampling) or coordinates."""
    from flood.datasets import make_swiss_cheese, make_torus

    out = []
    for dim, m in ((2, 12), (3, 10)):  # test_tol_zero_is_the_exact_filtration
        out.append(
            (
                f"uniform{dim}d_tol0",
                lambda d=dim: np.random.default_rng(d).uniform(size=(250, d)),
                m,
                0.0,
            )
        )
    out.append(("clusters3d", _clusters, 16, None))
    for dim in (2, 3):
        X, L = _not_in_x(dim)
        out.append((f"notinx{dim}d", lambda X=X: X, L, None))
    out.append(("torus20k", lambda: make_torus(20_000, random_state=0), 40, None))
    out.append(("cheese20k", lambda: make_swiss_cheese(20_000, random_state=0), 40, None))
    for dim, n, m in ((4, 800, 14), (5, 600, 12), (6, 400, 10)):  # ..._in_higher_dimensions
        out.append(
            (
                f"normal{dim}d",
                lambda d=dim, n=n: np.random.default_rng(d).normal(size=(n, d)),
                m,
                None,
            )
        )
    if n_points:
        out.append(
            (
                f"cheese{n_points}",
                lambda: make_swiss_cheese(n_points, random_state=0),
                n_landmarks,
                None,
            )
        )
    return out


def run_complex(X, L, tol, device, n_threads):
    from flood import flood_complex

    t0 = time.perf_counter()
    res = flood_complex(X, L, tol=tol, device=device, n_threads=n_threads)
    return res, time.perf_counter() - t0


def run_tasks(dim, k, device):
    """``certify_tasks`` at tol 0 on the tasks of test_certify_tasks_lower_bound_witness."""
    from flood.kernels import build_tree, certify_tasks, nearest

    rng = np.random.default_rng(dim + k)
    X = rng.normal(size=(400, dim))
    corners = rng.normal(size=(30, k + 1, dim))
    t0 = time.perf_counter()
    tree = build_tree(X, device=device)
    sites, _ = nearest(tree, corners.reshape(-1, dim))
    out = certify_tasks(
        tree, corners, sites.reshape(30, -1), np.zeros(30), np.full(30, np.inf), 0.0
    )
    return out["lower"], out["upper"], time.perf_counter() - t0


def compare(case, k, tol, a, b, slack, times):
    """One row: the intervals a = (lower, upper) and b per simplex overlap, gaps <= tol."""
    (la, ua), (lb, ub) = a, b
    la, ua, lb, ub = (np.asarray(v, dtype=float) for v in (la, ua, lb, ub))
    n = len(la)
    finite = np.concatenate([ua[np.isfinite(ua)], ub[np.isfinite(ub)], [1.0]])
    scale = float(np.abs(finite).max())
    if n:
        sep = float((np.maximum(la, lb) - np.minimum(ua, ub)).max())
        gap_a, gap_b = float((ua - la).max()), float((ub - lb).max())
        diff = float(np.abs(ua - ub).max())
        finite_ok = bool(np.isfinite(np.r_[la, ua, lb, ub]).all())
    else:
        sep = gap_a = gap_b = diff = 0.0
        finite_ok = True
    allowed_gap = tol * (1 + 1e-9) + 1e-9 * scale
    ok = finite_ok and sep <= slack * scale and max(gap_a, gap_b) <= allowed_gap
    values = [case, k, n, tol, scale, gap_a, gap_b, sep, diff, *times, ok, ""]
    return dict(zip(COLUMNS, values))


def _mismatch_row(name, k, n, tol, times, error):
    tol = float("nan") if tol is None else tol  # a default tol never computed
    return dict(zip(COLUMNS, [name, k, n, tol, *[float("nan")] * 5, *times, False, error]))


def check_case(name, X, m, tol, devices, args):
    """The rows of one cloud (one per simplex dimension) and each run's stage timings."""
    L = fps(X, m) if np.ndim(m) == 0 else np.asarray(m, dtype=float)
    runs = []
    for device in devices:
        res, total = run_complex(X, L, tol, device, args.threads)
        runs.append((res, total))
        tol = res.tol  # the other device gets the reference's tol
    (ra, ta), (rb, tb) = runs
    times = [ra.timings["filtration"], rb.timings["filtration"], ta, tb]
    rows = []
    for k in range(len(ra.simplices)):
        if len(ra.simplices) != len(rb.simplices) or not np.array_equal(
            ra.simplices[k], rb.simplices[k]
        ):
            rows.append(_mismatch_row(name, k, len(ra.simplices[k]), tol, times, "simplices"))
            continue
        a, b = (ra.lower[k], ra.upper[k]), (rb.lower[k], rb.upper[k])
        rows.append(compare(name, k, tol, a, b, args.slack, times))
    timings = {"ref": dict(ra.timings, total=ta), "other": dict(rb.timings, total=tb)}
    return rows, timings


def check(args, devices):
    """Per case: (name, rows, timings), reference device first; an exception in a case is
    a mismatch row carrying its message, and the next case runs."""
    for name, make, m, tol in cases(args.n_points, args.landmarks):
        print(f"  {name}: {m if np.ndim(m) == 0 else len(m)} landmarks ...", flush=True)
        try:
            rows, timings = check_case(name, make(), m, tol, devices, args)
        except Exception as exc:  # a kernel failure on one device must not lose the rest
            rows, timings = [_mismatch_row(name, -1, 0, tol, [float("nan")] * 4, repr(exc))], {}
        yield name, rows, timings
    for dim, k in ((2, 2), (3, 2), (3, 3)):
        name = f"tasks{dim}d"
        try:
            (la, ua, ta), (lb, ub, tb) = (run_tasks(dim, k, d) for d in devices)
            rows = [compare(name, k, 0.0, (la, ua), (lb, ub), args.slack, [ta, tb, ta, tb])]
        except Exception as exc:
            rows = [_mismatch_row(name, k, 0, 0.0, [float("nan")] * 4, repr(exc))]
        yield name, rows, {}


def write_results(folder, summary):
    """gpu_check.json (everything) and gpu_check.csv (the rows), rewritten after each case
    so that a run stopped at its time limit still leaves what it did."""
    with open(os.path.join(folder, "gpu_check.json"), "w") as f:
        json.dump(summary, f, indent=1, default=float)
    with open(os.path.join(folder, "gpu_check.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(summary["rows"])


def print_table(rows, devices):
    a, b = devices
    print(
        f"\n{'case':<16} {'k':>1} {'simplices':>9} {'tol':>9} {'max gap ' + a:>14} "
        f"{'max gap ' + b:>14} {'separation':>11} {'|du| max':>9} "
        f"{'filt ' + a:>10} {'filt ' + b:>10} {'total ' + a:>10} {'total ' + b:>10}  ok"
    )
    for r in rows:
        print(
            f"{r['case']:<16} {r['k']:>1} {r['n_simplices']:>9} {r['tol']:>9.2e} "
            f"{r['ref_max_gap']:>14.3e} {r['other_max_gap']:>14.3e} "
            f"{r['max_separation']:>11.2e} {r['max_upper_diff']:>9.1e} "
            f"{r['ref_filtration_s']:>10.3f} {r['other_filtration_s']:>10.3f} "
            f"{r['ref_total_s']:>10.3f} {r['other_total_s']:>10.3f}  "
            f"{'yes' if r['ok'] else 'NO'}"
        )


def out_dir(arg):
    folder = arg or os.environ.get("OUT") or tempfile.mkdtemp(prefix="gpu_check_")
    os.makedirs(folder, exist_ok=True)
    return folder


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--devices",
        default="cpu,cuda:0",
        help="reference device, then the one checked against it; one device: "
        "compared with itself (dry run, default cpu,cuda:0)",
    )
    p.add_argument(
        "--n-points",
        type=int,
        default=100_000,
        help="swiss cheese size (0: none; 1000000 for the full check)",
    )
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument(
        "--slack",
        type=float,
        default=1e-10,
        help="interval overlap slack, relative to the case's scale",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 2,
        help="n_threads of flood_complex (CPU refinement)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for gpu_check.json/.csv (default $OUT, else a temporary folder)",
    )
    args = p.parse_args(argv)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    if not 1 <= len(devices) <= 2:
        p.error(f"--devices takes one or two devices; got {args.devices!r}")
    if args.n_points < 0 or args.landmarks < 1:
        p.error("--n-points must be >= 0 and --landmarks >= 1")
    return args, (devices * 2)[:2]


def main(argv=None):
    args, devices = parse(argv)
    t_start = time.perf_counter()
    env = environment()
    print("installed: " + ", ".join(f"{k} {v}" for k, v in env.items()), flush=True)
    if env["warp"] is None:
        print(WARP_HELP, file=sys.stderr)
        return 3
    env["flood"] = import_flood()
    import warp as wp

    from flood._progress import compile_kernels
    from flood._validation import check_device

    try:
        devices = [check_device(d) for d in devices]
    except ValueError as exc:
        print(f"device missing: {exc}", file=sys.stderr)
        return 2
    env["warp_devices"] = [str(d) for d in wp.get_devices()]
    compile_s = {}
    for device in dict.fromkeys(devices):
        t0 = time.perf_counter()
        compile_kernels("certified", device)
        compile_s[device] = time.perf_counter() - t0
        print(f"compile {device}: {compile_s[device]:.1f} s", flush=True)
    print(f"comparing {devices[1]} against {devices[0]}:", flush=True)
    folder = out_dir(args.out)
    summary = {
        "ok": None,
        "devices": devices,
        "options": vars(args),
        "environment": env,
        "compile_s": compile_s,
        "wall_s": None,
        "timings": {},
        "rows": [],
    }
    for name, rows, timings in check(args, devices):
        summary["rows"] += rows
        summary["timings"][name] = timings
        summary["wall_s"] = time.perf_counter() - t_start
        write_results(folder, summary)
    rows = summary["rows"]
    print_table(rows, devices)
    ok = summary["ok"] = all(r["ok"] for r in rows)
    write_results(folder, summary)
    bad = [f"{r['case']} k={r['k']}" + (f" ({r['error']})" if r["error"] else "")
           for r in rows if not r["ok"]]  # fmt: skip
    print(
        f"\n{'AGREE' if ok else 'MISMATCH'}: {len(rows) - len(bad)}/{len(rows)} rows agree"
        + (f"; mismatched: {', '.join(bad)}" if bad else "")
        + f"; {summary['wall_s']:.1f} s; results in {folder}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
