"""Gradients of Flood persistence: forward and backward at scale, and against a peer.

Part 1 (issue 28's target: backward <= 0.2x forward at 10^6 points): on a 3-D swiss cheese
with 1,000 landmarks, the time of ``flood.torch.flood_persistence`` (tol=0: the kernels,
the pairs, the critical simplices' witnesses), of ``flood_complex`` alone at the same
settings (what the witnesses add), and of ``backward()`` of the total persistence of H0-H2.

Part 2: forward + backward of the same loss (H1 + H2 total persistence) beside peers on
the same clouds, in one run, each peer in a child process stopped after ``--peer-timeout``
seconds: torch-topological's ``AlphaComplex`` (a full Alpha complex of X through gudhi,
``torch.cdist`` of all pairs, then one indexing op per pair: its backward grows like
pairs x N^2) and Oineus' ``diff.alpha_filtration`` + ``diff.persistence_diagram`` (needs
diode, built from source: ``apt-get install libcgal-dev; pip install diode``, ~20 min here;
left out where it is missing).
torch-topological's VietorisRipsComplex (giotto-ph on all pairs) is left out: at 10^4 points
in 3-D its complex up to triangles is far larger still.

    python benchmarks/gradients.py [--scale 100000,1000000] [--peers 10000,30000]
                                   [--landmarks 1000] [--peer-landmarks 1000]
                                   [--peer-timeout 300] [--peer-memory 12] [--repeat 3]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def flood_run(X, landmarks, dims=(0, 1, 2), repeat=1):
    """(forward s, backward s, flood_complex alone s, n pairs, points with a gradient),
    each time the smallest of ``repeat`` runs (alternated, so load spikes hit all three)."""
    import torch

    from flood import flood_complex
    from flood.torch import flood_persistence, total_persistence

    times = []
    for _ in range(repeat):
        _, alone = _timed(lambda: flood_complex(X, landmarks, tol=0.0, random_state=0))
        x = torch.tensor(X, requires_grad=True)
        diagrams, forward = _timed(
            lambda x=x: flood_persistence(x, landmarks, homology_dimensions=dims, random_state=0)
        )
        loss = total_persistence(diagrams)
        _, backward = _timed(loss.backward)
        times.append((forward, backward, alone))
    forward, backward, alone = np.min(times, axis=0)
    moved = int((x.grad.abs().sum(dim=1) > 0).sum())
    return forward, backward, alone, sum(len(d) for d in diagrams), moved


def peer_run(peer, X):
    """(forward s, backward s) of a peer's differentiable Alpha persistence on H1 + H2."""
    import torch

    x = torch.tensor(X, requires_grad=True)
    if peer == "torch-topological":
        from torch_topological.nn import AlphaComplex

        infos, forward = _timed(lambda: AlphaComplex()(x))
        diagrams = [i.diagram for i in infos[1:] if len(i.diagram)]
    else:
        import oineus.diff as od

        dgms, forward = _timed(lambda: od.persistence_diagram(od.alpha_filtration(x)))
        diagrams = [dgms[q] for q in (1, 2) if q in dgms]
    loss = sum((d[:, 1] - d[:, 0]).sum() for d in diagrams)
    _, backward = _timed(loss.backward)
    return forward, backward


def _peer_in_child(peer, n, timeout, memory_gb):
    """peer_run in a child process: (forward, backward), None past ``timeout`` s, or the
    last line of its error (a MemoryError past ``memory_gb`` GiB of address space)."""
    import resource

    def limit():
        cap = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, __file__, "--child", peer, "--peers", str(n)]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=True, preexec_fn=limit
        )
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        return exc.stderr.strip().splitlines()[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--scale", default="100000,1000000")
    p.add_argument("--peers", default="10000,30000")
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--peer-landmarks", type=int, default=1000)
    p.add_argument("--peer-timeout", type=float, default=300.0)
    p.add_argument("--repeat", type=int, default=3, help="flood runs per size (min)")
    p.add_argument("--peer-memory", type=float, default=12.0, help="GiB per peer process")
    p.add_argument("--child", help=argparse.SUPPRESS)  # a peer's run in a child process
    a = p.parse_args(argv)
    if a.child:
        from flood.datasets import make_swiss_cheese

        print(json.dumps(peer_run(a.child, make_swiss_cheese(int(a.peers), random_state=0))))
        return []
    from flood import flood_complex
    from flood.datasets import make_swiss_cheese

    sizes = [int(n) for n in a.scale.split(",") if n]
    peer_sizes = [int(n) for n in a.peers.split(",") if n]
    cloud = {n: make_swiss_cheese(n, random_state=0) for n in sorted({*sizes, *peer_sizes})}
    flood_complex(cloud[min(cloud)], 50, tol=0.0, random_state=0)  # compile / warm
    rows = []
    print(f"load {os.getloadavg()[0]:.1f} (1-min), cores {os.cpu_count()}")
    print("points     forward s  backward s  bwd/fwd  flood_complex s  witnesses s  pairs  moved")
    for n in sizes:
        fwd, bwd, alone, pairs, moved = flood_run(cloud[n], a.landmarks, repeat=a.repeat)
        rows.append(("flood", n, fwd, bwd))
        print(
            f"{n:>9,}  {fwd:9.2f}  {bwd:10.4f}  {bwd / fwd:7.4f}  {alone:15.2f}  "
            f"{fwd - alone:11.2f}  {pairs:5d}  {moved:5d}"
        )
    peers = [p for p in ("torch-topological", "oineus") if _importable(p)]
    for n in peer_sizes:
        fwd, bwd, *_ = flood_run(cloud[n], a.peer_landmarks, dims=(1, 2), repeat=a.repeat)
        rows.append(("flood", n, fwd, bwd))
        print(
            f"{n:>9,} points, load {os.getloadavg()[0]:.1f}: H1 + H2 total persistence, "
            f"flood ({a.peer_landmarks} landmarks) forward {fwd:.2f} s + backward "
            f"{bwd:.4f} s = {fwd + bwd:.2f} s"
        )
        for peer in peers:
            got = _peer_in_child(peer, n, a.peer_timeout, a.peer_memory)
            if isinstance(got, list):
                rows.append((peer, n, *got))
                print(
                    f"{'':>9}  {peer}: forward {got[0]:.2f} s + backward {got[1]:.2f} s = "
                    f"{sum(got):.2f} s ({sum(got) / (fwd + bwd):.1f}x flood)"
                )
            else:
                rows.append((peer, n, None, None))
                why = f"stopped after {a.peer_timeout} s" if got is None else f"failed: {got}"
                print(f"{'':>9}  {peer}: {why} (> {a.peer_timeout / (fwd + bwd):.0f}x flood)")
    return rows


def _importable(peer):
    module = {"torch-topological": "torch_topological.nn", "oineus": "oineus.diff"}[peer]
    try:
        __import__(module)
    except ImportError:
        return False
    if peer == "oineus":  # its alpha_filtration needs diode (a CGAL build)
        try:
            import diode  # noqa: F401
        except ImportError:
            return False
    return True


if __name__ == "__main__":
    main()
