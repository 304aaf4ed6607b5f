"""Noise that native libraries write straight to file descriptor 2, filtered at its source.

Warp's CUDA probe and open3d's PLY parser (RPly) print with C's ``fprintf(stderr, ...)``:
Python's ``sys.stderr``, ``warnings`` and the libraries' own log levels do not reach them.
:func:`filtered_stderr` points descriptor 2 at a temporary file around one call and then
writes back every line that is not known noise (everything, if the call raised).
"""

import contextlib
import os
import sys
import tempfile
import threading

# Descriptor 2 belongs to the whole process: two threads swapping it at once could leave it
# pointing at a closed temporary file, so captures run one at a time (re-entrant: nesting in
# one thread is fine).
_LOCK = threading.RLock()


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
