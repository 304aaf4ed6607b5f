"""What a user sees while flood works: progress bars and the first-compile notice.

Only :func:`flood.flood_complex` with ``progress=True`` (the command line's default) uses
this; a library call without it prints nothing.
"""

import os
import sys
import threading

#: The Warp modules of :mod:`flood.kernels` each filtration method launches (the seeds'
#: gather is a module of its own: without it here, a first run compiled it unannounced,
#: inside the filtration's progress bars), then the diagrams' (``FloodResult.diagrams``:
#: the command line computes them right after, so they compile under the same notice).
DIAGRAM_MODULES = ("flood.kernels._persistence", "flood.kernels._reduction")
KERNEL_MODULES = {
    "certified": (
        "flood.kernels._tree",
        "flood.kernels._nearest",
        "flood.kernels._voronoi",
        "flood.kernels._seeds",
        *DIAGRAM_MODULES,
    ),
    "grid": (
        "flood.kernels._tree",
        "flood.kernels._nearest",
        "flood.kernels._grid",
        *DIAGRAM_MODULES,
    ),
}
#: Kernels that only CPU runs launch: FPS on the tree (:mod:`flood._landmarks`).
CPU_KERNEL_MODULES = ("flood.kernels._fps",)
#: Endings of a compiled module binary in Warp's kernel cache, per device kind.
BINARY_SUFFIXES = {"cpu": (".o",), "cuda": (".cubin", ".ptx")}
#: Warp compiles CPU modules with one thread per block (so their cache name differs).
CPU_BLOCK_DIM = 1


def _uncompiled(names, device):
    """The Warp modules among ``names`` with no binary for ``device`` in the kernel cache."""
    import warp as wp

    cpu = device.startswith("cpu")
    suffixes = BINARY_SUFFIXES["cpu" if cpu else "cuda"]
    missing = []
    for name in names:
        # CPU launches build with block_dim=1, CUDA ones with the module's own
        ident = wp.get_module(name).get_module_identifier(block_dim=CPU_BLOCK_DIM if cpu else None)
        folder = os.path.join(wp.config.kernel_cache_dir, ident)
        files = os.listdir(folder) if os.path.isdir(folder) else []
        if not any(f.endswith(suffixes) for f in files):
            missing.append(name)
    return missing


def compile_kernels(method, device, stream=None):
    """Compile the kernels of ``method`` now if the cache lacks them, after a one-line notice.

    Warp compiles a module at its first launch (seconds, once per machine and version);
    loading it here keeps that pause out of the progress bars and says what it is.

    Parameters
    ----------
    method : {"certified", "grid"}
    device : str
        A resolved Warp device (``"cpu"``, ``"cuda:0"``).
    stream : file, optional
        Where the notice goes (default ``sys.stderr``).

    Returns
    -------
    compiled : list of str
        The modules that were compiled (empty when all were cached).
    """
    import warp as wp

    names = KERNEL_MODULES[method]
    if str(device).startswith("cpu"):  # FPS on the tree runs on the CPU only
        names = names + CPU_KERNEL_MODULES
    missing = _uncompiled(names, device)
    if missing:
        print(
            f"flood: compiling the Warp kernels for {device} (first run only, up to a minute)...",
            file=sys.stderr if stream is None else stream,
            flush=True,
        )
        for name in missing:
            wp.load_module(name, device=device)
    return missing


class FiltrationBars:
    """One tqdm bar per simplex dimension, fed by :func:`flood._certify.certified_bounds`.

    Called as ``bars(k, done, total)``: ``done`` more tasks of dimension ``k`` finished, of
    ``total`` so far (the simplices, plus the pieces of every refinement round started), so
    the bar's total grows when pieces are split and its rate and ETA stay honest.
    """

    def __init__(self):
        self.bar = None
        self.k = None
        self.lock = threading.Lock()  # batches finish on several threads

    def __call__(self, k, done, total):
        with self.lock:
            if k != self.k:
                self.close()
                from tqdm.auto import tqdm

                self.bar = tqdm(
                    total=total, desc=f"filtration, {k}-simplices", unit="task", leave=True
                )
                self.k = k
            if total != self.bar.total:
                self.bar.total = total
                self.bar.refresh()
            self.bar.update(done)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
