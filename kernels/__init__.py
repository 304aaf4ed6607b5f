"""Warp kernels and their host launchers (arithmetic, no policy), shipped as ``flood.kernels``.

Nothing here imports from ``flood`` itself; every launcher has a NumPy reference named
``<launcher>_reference`` that the tests compare against on the CPU device.
"""

__all__: list[str] = []
