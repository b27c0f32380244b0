"""The engine behind the HPC-in-Python workshop: cores, timing, scaling, kernels and the speed-up lab."""

__all__: list[str] = []
