"""Everything a person reads: memo text, charts, workbooks, terminal tables, report files and ``run --check``.

``memo`` (summary table, headline sentences, comparison), ``terminal`` (what
the CLI prints), ``style`` and ``charts`` (matplotlib), ``workbook``
(openpyxl), ``report`` (writes every file), ``check`` (``run --check``).
Every figure is written by :mod:`finmodel.core.format`. The only layer that
writes files (besides the CLI, which calls it).
"""
