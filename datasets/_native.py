"""Native libraries: loading open3d with an error that names the real cause, and the noise
they write straight to file descriptor 2, filtered at its source.

open3d's wheels load system libraries they do not bundle (libusb-1.0 on Linux): where one is
missing, ``import open3d`` fails although open3d is installed, and "pip install" is the wrong
advice; :func:`import_open3d` names the missing library and the system package instead.

Warp's CUDA probe and open3d's PLY parser (RPly) print with C's ``fprintf(stderr, ...)``:
Python's ``sys.stderr``, ``warnings`` and the libraries' own log levels do not reach them.
:func:`filtered_stderr` points descriptor 2 at a temporary file around one call and then
writes back every line that is not known noise (everything, if the call raised).
"""

import contextlib
import os
import re
import sys
import tempfile
import threading

# The Debian/Ubuntu packages of the shared libraries open3d's Linux wheels load but do not
# bundle, by the library's file-name prefix.
SYSTEM_PACKAGES = {
    "libusb-1.0.so": "libusb-1.0-0",
    "libGL.so": "libgl1",
    "libgomp.so": "libgomp1",
    "libX11.so": "libx11-6",
}
# A shared library's file name inside a loader's message ("libusb-1.0.so.0: cannot open ...").
_SHARED_LIBRARY = re.compile(r"[\w.+-]+\.(?:so(?:\.\d+)*|dylib|dll)\b")

# Descriptor 2 belongs to the whole process: two threads swapping it at once could leave it
# pointing at a closed temporary file, so captures run one at a time (re-entrant: nesting in
# one thread is fine).
_LOCK = threading.RLock()


def import_open3d(what):
    """Import open3d, or raise an ImportError that says what is missing and how to get it.

    Parameters
    ----------
    what : str
        What needs open3d, the subject of the message (``"Reading .obj meshes"``).

    Returns
    -------
    module
        The ``open3d`` module.

    Raises
    ------
    ImportError
        If open3d is not installed (the message says ``pip install flood-tda[mesh]``), or is
        installed but cannot load (the message names the missing shared library and, for the
        libraries open3d is known to need, the system package: ``apt-get install
        libusb-1.0-0``).
    """
    try:
        import open3d
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "open3d":
            raise ImportError(_cannot_load(what, exc)) from exc
        raise ImportError(
            f"{what} needs the optional dependency open3d: pip install flood-tda[mesh]"
        ) from exc
    except (ImportError, OSError) as exc:  # open3d is there; a library it loads is not
        raise ImportError(_cannot_load(what, exc)) from exc
    return open3d


def _cannot_load(what, exc):
    text = str(exc).strip() or type(exc).__name__
    found = _SHARED_LIBRARY.search(text)
    if found is None:
        return f"{what} needs open3d, which is installed but failed to import: {text}"
    library = found.group(0)
    package = next((pkg for name, pkg in SYSTEM_PACKAGES.items() if library.startswith(name)), None)
    if package is None:
        fix = f"on Debian or Ubuntu, apt-file search {library} names its package"
    else:
        fix = f"on Debian or Ubuntu: apt-get install {package}"
    return (
        f"{what} needs open3d, which is installed but cannot load the system library {library} "
        f"({text}); install that library with the system's package manager ({fix})"
    )


def is_open3d_noise(line):
    """RPly's own error lines and open3d's log lines: flood raises its own errors instead."""
    return line.startswith("RPly:") or "[Open3D" in line


@contextlib.contextmanager
def filtered_stderr(is_noise):
    """Run the ``with`` body with descriptor 2 captured; re-emit the lines that are not noise.

    Parameters
    ----------
    is_noise : callable
        ``is_noise(line) -> bool`` for one captured line (a str, newline included).

    Examples
    --------
    >>> with filtered_stderr(lambda line: line.startswith("RPly:")):
    ...     _ = os.write(2, b"RPly: Unexpected end of file\\n")
    """
    with _LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 (a windowless process): nothing to filter
            yield
            return
        failed = True
        try:
            with tempfile.TemporaryFile() as sink:
                sys.stderr.flush()
                os.dup2(sink.fileno(), 2)
                try:
                    yield
                    failed = False
                finally:
                    sys.stderr.flush()
                    os.dup2(saved, 2)
                    sink.seek(0)
                    text = sink.read().decode("utf-8", errors="replace")
                    lines = text.splitlines(keepends=True)
                    kept = lines if failed else [line for line in lines if not is_noise(line)]
                    if kept:
                        os.write(2, "".join(kept).encode("utf-8"))
        finally:
            os.close(saved)
