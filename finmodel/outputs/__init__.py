"""Everything a person reads: memo text, chart style and charts, report files and ``run --check``.

The only layer that writes files (besides the CLI, which calls it).
"""
