"""The computing core: the year grid, tax rules, cash-flow lines, metrics and compiled kernels.

Pure functions of NumPy arrays (and numba kernels); nothing here imports
another layer of finmodel, YAML, matplotlib or the file system.
"""
