"""Writing results to disk: the only module that writes files.

Every file is written to a temporary name in the target folder and renamed
into place, so an interrupted run never leaves a partial file. A folder is
written only if it is new, empty, or was made by finmodel (it holds a
``run.json`` manifest), unless ``force`` is given.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .model import Results

__all__ = ["OutputError", "prepare_out_dir", "atomic_write", "write_json", "write_run", "manifest", "MANIFEST"]

MANIFEST = "run.json"


class OutputError(RuntimeError):
    """An output folder that may not be written."""


def prepare_out_dir(out: str | os.PathLike, force: bool = False) -> Path:
    """Check (do not create) that ``out`` may receive finmodel outputs."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / MANIFEST).exists() and not force:
        raise OutputError(f"{path}: folder is not empty and was not made by finmodel (no {MANIFEST}); choose another --out or pass --force")
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    text = json.dumps(_clean(data), indent=2, default=_json_default, allow_nan=False) + "\n"
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_csv(path: str | os.PathLike, frame, **kwargs) -> Path:
    return atomic_write(path, lambda p: frame.to_csv(p, **kwargs))


def manifest(results: Sequence[Results], command: Sequence[str] | None = None, seed: int | None = None, files: Sequence[str] = ()) -> dict:
    """What ``run.json`` records: version, resolved scenarios and their SHA-256, seed, command line."""
    return {
        "finmodel_version": __version__,
        "command": list(command) if command is not None else list(sys.argv),
        "seed": seed,
        "scenarios": [
            {
                "name": r.scenario.name,
                "path": r.scenario.path,
                "files": list(r.scenario.files),
                "sha256": r.scenario.sha256(),
                "resolved": r.scenario.resolved(),
            }
            for r in results
        ],
        "files": sorted(files),
    }


def write_run(results: Results, out: str | os.PathLike, command: Sequence[str] | None = None) -> list[Path]:
    """``summary.json`` and ``cashflows.csv`` (MODEL.md section 12), then ``run.json``."""
    out = Path(out)
    written = [
        write_json(out / "summary.json", results.to_dict()),
        write_csv(out / "cashflows.csv", results.cashflows, index=False, float_format="%.6f"),
    ]
    written.append(write_json(out / MANIFEST, manifest([results], command, files=[p.name for p in written])))
    return written
