"""Warp start-up policy: a writable kernel cache, and a quiet start (:func:`init_warp`).

Warp compiles kernels into a cache folder (``warp.config.kernel_cache_dir``, else the
``WARP_CACHE_PATH`` environment variable, else a per-user folder) and fails inside
``wp.init()`` with a bare ``OSError`` when that folder cannot be created or written (a
read-only home on a cluster node, a path under a file). :func:`ensure_kernel_cache` checks
the folder first and, when it is not writable, points Warp at a fresh temporary folder with
a warning: kernels then compile again in each process, but nothing fails. Warp's native
CUDA probe prints a "CUDA driver not found" banner on every CPU-only host; :func:`init_warp`
filters that one line out at its source.
"""

import os
import tempfile
import warnings

from flood.datasets._native import filtered_stderr

# What Warp's native CUDA probe prints on a host without an NVIDIA driver, once per process
# (so once per joblib worker), to file descriptor 2 and whatever warp.config.log_level says.
CPU_HOST_BANNER = "Could not find or load the NVIDIA CUDA driver"


def _warp_initialized():
    try:
        from warp._src import context
    except ImportError:  # pragma: no cover - other Warp layouts: assume initialized
        return True
    return getattr(context, "runtime", None) is not None


def _cache_dir():
    """The folder Warp would use, as ``warp._src.build.init_kernel_cache`` resolves it."""
    import warp as wp

    if wp.config.kernel_cache_dir is not None:
        return os.path.realpath(wp.config.kernel_cache_dir)
    if "WARP_CACHE_PATH" in os.environ:
        return os.path.join(os.path.realpath(os.environ["WARP_CACHE_PATH"]), wp.config.version)
    try:
        from warp._src.thirdparty import appdirs
    except ImportError:  # pragma: no cover - other Warp layouts
        return None
    return appdirs.user_cache_dir(appname="warp", appauthor="NVIDIA", version=wp.config.version)


def _writable(folder):
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc
    return None


def quiet_startup():
    """Silence Warp's start-up banner (a library prints nothing), unless Warp is already
    initialized or ``FLOOD_WARP_VERBOSE`` is set."""
    if os.environ.get("FLOOD_WARP_VERBOSE") or _warp_initialized():
        return
    import warp as wp

    wp.config.log_level = wp.LOG_ERROR  # no banner, no "CUDA driver not found" on CPU hosts


def ensure_kernel_cache():
    """Make sure Warp's kernel cache is writable; else use a temporary folder (with a warning).

    Call before ``wp.init()``; a no-op once Warp is initialized.

    Returns
    -------
    folder : str or None
        The temporary folder now used, or None when the configured cache is fine (or Warp
        was already initialized).
    """
    if _warp_initialized():
        return None
    import warp as wp

    folder = _cache_dir()
    if folder is None:
        return None
    error = _writable(folder)
    if error is None:
        return None
    fallback = tempfile.mkdtemp(prefix="flood-warp-cache-")
    wp.config.kernel_cache_dir = fallback
    warnings.warn(
        f"the Warp kernel cache {folder!r} is not writable ({error.strerror or error}); "
        f"using the temporary folder {fallback!r} instead (kernels are compiled again in "
        "every process). Set WARP_CACHE_PATH to a writable folder to keep them.",
        UserWarning,
        stacklevel=3,
    )
    return fallback


def _is_cpu_host_banner(line):
    return CPU_HOST_BANNER in line


def init_warp():
    """Initialize Warp once, quietly: a writable kernel cache, and no CPU-host CUDA banner.

    The banner comes from native code, so descriptor 2 is filtered around ``wp.init()``
    only: every other line it prints (on a GPU host, a driver-version warning) is written
    back, and everything is if ``wp.init()`` raises. ``FLOOD_WARP_VERBOSE`` turns the filter
    off.

    Examples
    --------
    >>> init_warp()
    >>> import warp as wp
    >>> wp.is_cpu_available()
    True
    """
    if _warp_initialized():
        return
    import warp as wp

    ensure_kernel_cache()
    if os.environ.get("FLOOD_WARP_VERBOSE"):
        wp.init()
        return
    with filtered_stderr(_is_cpu_host_banner):
        wp.init()
