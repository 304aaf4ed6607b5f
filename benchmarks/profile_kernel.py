"""Where the certified kernel spends its time: ``perf`` samples mapped to Warp functions.

Usage::

    python benchmarks/profile_kernel.py --cloud cheese --n 100000 --repeats 3

Runs flood's certified refinement (``certified_bounds``, one thread, after one untimed run)
under ``perf record``, with the kernel module compiled with line tables (a separate entry of
Warp's kernel cache: same optimization, same code). ``perf`` cannot name code that Warp's
LLVM JIT loaded, so this script maps each sample itself: the address Warp reports for the
kernel's entry point minus that symbol's offset in the cached object file gives the object's
load address; ``addr2line`` on the object resolves inlined frames, and each sample is charged
to the innermost frame in the generated C++ (one function there per ``@wp.func``). Prints the
self time per function and the hottest lines, each with the Python source line that Warp
writes above it as a comment.

Needs Linux ``perf`` (``kernel.perf_event_paranoid <= 2``) and binutils (``addr2line``,
``objdump``). CPU only.
"""

import argparse
import collections
import glob
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LINE_TABLES = " -debug-info-kind=line-tables-only -dwarf-version=4"


def child(args, meta_path):
    """The profiled process: certified_bounds on one cloud; writes where the kernel lies."""
    sys.path.insert(0, HERE)
    import warp as wp
    from _peers import make_cloud

    import flood._certify as certify
    import flood._complex as complex_
    from flood.kernels import _voronoi

    module = wp.get_module(_voronoi.__name__)
    module.options["cpu_compiler_flags"] = (wp.config.cpu_compiler_flags or "") + LINE_TABLES
    captured = {}
    run = certify.certified_bounds

    def capture(*a, **kw):
        captured["args"], captured["kw"] = a, kw
        return run(*a, **kw)

    complex_.certified_bounds = capture
    X = make_cloud(args.cloud, args.n, 0)
    complex_.flood_complex(X, args.landmarks, random_state=0)  # compiles, captures the inputs
    a, kw = captured["args"], dict(captured["kw"], n_threads=1, progress=None)
    execs = list(module.execs.values())
    name = execs[0].get_kernel_mangled_name(_voronoi.certify_kernel) + "_cpu_forward"
    lookup = wp._src.context.runtime.llvm.wp_lookup
    address = lookup(execs[0].handle.encode(), name.encode())
    # the object file this process loaded (another build of the same source, without line
    # tables, has the same symbol names)
    binary = getattr(execs[0], "binary_path", None) or "-"
    with open(meta_path, "w") as f:
        f.write(f"{name} {address} {wp.config.kernel_cache_dir} {binary}\n")
    t0 = time.process_time()
    for _ in range(args.repeats):
        run(*a, **kw)
    print(f"certified_bounds: {(time.process_time() - t0) / args.repeats:.3f} s CPU per run")


def symbol_in(obj, name):
    """(section, offset) of symbol ``name`` in object file ``obj``, or None."""
    out = subprocess.run(["objdump", "-t", obj], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[-1] == name:
            return parts[-3], int(parts[0], 16)
    return None


def frames_of(obj, section, offsets):
    """For each offset, the inlined frames [(function, file:line), ...] innermost first."""
    out = subprocess.run(
        ["addr2line", "-a", "-i", "-f", "-C", "-e", obj, "-j", section] + [hex(o) for o in offsets],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    frames, cur, i = {}, None, 0
    while i < len(out):
        if out[i].startswith("0x"):
            cur = int(out[i], 16)
            frames[cur] = []
            i += 1
        else:
            frames[cur].append((out[i].split("(")[0], out[i + 1].split(" ")[0]))
            i += 2
    return frames


def report(perf_data, meta_path, top):
    name, address, cache, binary = open(meta_path).read().split()
    address = int(address)
    obj = section = None
    candidates = [binary] if os.path.isfile(binary) else []
    if not candidates:  # the newest cached object with line tables that holds the kernel
        found = glob.glob(os.path.join(cache, "wp_flood.kernels._voronoi*", "*.o"))
        candidates = sorted(found, key=os.path.getmtime, reverse=True)
    for candidate in candidates:
        found = symbol_in(candidate, name)
        headers = subprocess.run(["objdump", "-h", candidate], capture_output=True, text=True)
        if found and ".debug_line" in headers.stdout:
            obj, (section, offset) = candidate, found
            break
    if obj is None:
        sys.exit(f"no cached object file with line tables holds {name}")
    base = address - offset
    script = subprocess.run(
        ["perf", "script", "-i", perf_data, "-F", "ip,dso"], capture_output=True, text=True
    ).stdout
    ips = collections.Counter()
    total = 0
    for line in script.splitlines():
        parts = line.split()
        if len(parts) == 2:
            total += 1
            ips[int(parts[0], 16) - base] += 1
    sizes = subprocess.run(["objdump", "-h", obj], capture_output=True, text=True).stdout
    size = next(int(ln.split()[2], 16) for ln in sizes.splitlines() if f" {section} " in ln)
    inside = {o: c for o, c in ips.items() if 0 <= o < size}
    n_kernel = sum(inside.values())
    frames = frames_of(obj, section, sorted(inside))
    source = open(glob.glob(os.path.join(os.path.dirname(obj), "*.cpp"))[0]).read().splitlines()
    by_function, by_line = collections.Counter(), collections.Counter()
    for o, c in inside.items():
        fn, line = "(no line)", "?"
        for f, loc in frames.get(o, []):
            if ".cpp:" in loc:
                fn, line = f, loc.rsplit(":", 1)[1]
                break
        by_function[fn] += c
        by_line[(fn, line)] += c
    print(f"{total} samples, {n_kernel} ({100 * n_kernel / max(total, 1):.0f} %) in the kernel")
    print("\nself time per function (share of the kernel's samples)")
    for fn, c in by_function.most_common(top):
        print(f"{100 * c / n_kernel:6.1f} %  {fn}")
    print("\nhottest lines (generated C++, with the Python line Warp wrote above it)")
    for (fn, line), c in by_line.most_common(top):
        python = ""
        if line.isdigit():
            for j in range(int(line) - 1, max(0, int(line) - 40), -1):
                if source[j].strip().startswith("// "):
                    python = source[j].strip()[3:]
                    break
        print(f"{100 * c / n_kernel:6.1f} %  {fn:24s} {python[:80]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud", default="cheese", help="cloud of benchmarks/_peers.make_cloud")
    p.add_argument("--n", type=int, default=100_000, help="points")
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3, help="profiled runs")
    p.add_argument("--top", type=int, default=25, help="rows of each table")
    p.add_argument("--frequency", type=int, default=2000, help="perf samples per second")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    for name in ("n", "landmarks", "repeats", "top", "frequency"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1; got {getattr(args, name)}")
    if args.child:
        return child(args, args.child)
    with tempfile.TemporaryDirectory() as tmp:
        meta, data = os.path.join(tmp, "meta"), os.path.join(tmp, "perf.data")
        cmd = [sys.executable, os.path.abspath(__file__), "--child", meta]
        cmd += ["--cloud", args.cloud, "--n", str(args.n), "--landmarks", str(args.landmarks)]
        cmd += ["--repeats", str(args.repeats)]
        perf = ["perf", "record", "-q", "-F", str(args.frequency), "-o", data, "--"]
        rc = subprocess.run(perf + cmd).returncode
        if rc != 0 or not os.path.exists(meta):
            sys.exit(f"the profiled run failed (perf record exit status {rc})")
        report(data, meta, args.top)


if __name__ == "__main__":
    main()
