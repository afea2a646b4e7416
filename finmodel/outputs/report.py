"""Writing results to disk: the only module that writes files.

Every file is written to a temporary name in the target folder and renamed
into place, so an interrupted run never leaves a partial file. A folder is
written only if it is new, empty, or was made by finmodel (it holds a
``run.json`` manifest), unless ``force`` is given.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from finmodel._version import __version__
from finmodel.engine.model import Results
from finmodel.engine.names import is_delta

__all__ = [
    "OutputError",
    "prepare_out_dir",
    "made_by_finmodel",
    "manifest_files",
    "remove_stale",
    "atomic_write",
    "json_text",
    "write_json",
    "write_text",
    "render_run",
    "write_run",
    "manifest",
    "MANIFEST",
]

MANIFEST = "run.json"


class OutputError(RuntimeError):
    """An output folder that may not be written."""


def prepare_out_dir(out: str | os.PathLike, force: bool = False) -> Path:
    """Check (do not create) that ``out`` may receive finmodel outputs."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not made_by_finmodel(path) and not force:
        raise OutputError(
            f"{path}: folder is not empty and was not made by finmodel (no {MANIFEST}); "
            "choose another --out or pass --force"
        )
    return path


def made_by_finmodel(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a finmodel manifest (a ``run.json`` naming a finmodel version)."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and "finmodel_version" in data


def manifest_files(folder: str | os.PathLike) -> list[str] | None:
    """The files the finmodel manifest in ``folder`` lists (relative paths); None without one."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or "finmodel_version" not in data:
        return None
    files = data.get("files")
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def remove_stale(folder: str | os.PathLike, previous: Sequence[str]) -> list[str]:
    """Delete the outputs of an earlier run that the new manifest no longer lists.

    ``previous`` is what :func:`manifest_files` gave before the new run. Only
    files that finmodel's own manifest listed are removed (never a user's
    file), only inside ``folder``, and folders left empty by that. Without
    this, a chart of scenario A could sit beside the summary of scenario B.
    """
    folder = Path(folder)
    current = set(manifest_files(folder) or ()) | {MANIFEST}
    root = folder.resolve()
    removed = []
    for name in sorted(set(previous) - current):
        path = folder / name
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):
            continue
        if root not in resolved.parents or not path.is_file() or path.is_symlink():
            continue
        path.unlink()
        removed.append(name)
        parent = path.parent
        while parent.resolve() != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


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


#: The time written into spreadsheets: the zip format's epoch, so that the same
#: tables give the same bytes (the run's own record is run.json).
XLSX_TIME = (1980, 1, 1, 0, 0, 0)


def save_workbook(wb, path: str | os.PathLike) -> Path:
    """Save an openpyxl workbook atomically, with no time stamp: the same cells give the same bytes.

    openpyxl stamps the document's modification time and each zip member's
    time with the clock; both are set to :data:`XLSX_TIME` here, the members
    rewritten in the same order with the same compression.
    """
    import datetime

    def write(tmp: Path) -> None:
        wb.properties.created = datetime.datetime(*XLSX_TIME)
        buffer = io.BytesIO()
        wb.save(buffer)  # sets properties.modified to now: replaced by zip_without_time
        tmp.write_bytes(zip_without_time(buffer.getvalue()))

    return atomic_write(path, write)


def zip_without_time(data: bytes) -> bytes:
    """An Office file (xlsx, docx) with its clock times set to :data:`XLSX_TIME`.

    Every zip member's time, and the document's modification time in
    ``docProps/core.xml``; the members are rewritten in the same order with
    the same compression, so the same content gives the same bytes.
    """
    import datetime
    import zipfile

    when = datetime.datetime(*XLSX_TIME).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            member_data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                member_data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + when + rb"\g<2>", member_data
                )
            member = zipfile.ZipInfo(info.filename, date_time=XLSX_TIME)
            member.compress_type = info.compress_type
            member.external_attr = info.external_attr
            dst.writestr(member, member_data)
    return out.getvalue()


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


def json_text(data: Any) -> str:
    """The JSON text finmodel writes: indented, NaN and inf as null, numpy scalars as numbers."""
    return json.dumps(_clean(data), indent=2, default=_json_default, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, data: Any) -> Path:
    text = json_text(data)
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_text(path: str | os.PathLike, text: str | Iterable[str]) -> Path:
    """Write ``text``, or an iterable of lines (each written with a newline as it comes), atomically."""
    if isinstance(text, str):
        return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))

    def write(p: Path) -> None:
        with open(p, "w", encoding="utf-8", newline="\n") as f:
            for line in text:
                f.write(line + "\n")

    return atomic_write(path, write)


#: Numbers in CSV files: 12 significant digits (no ``0.30000000000000004``; USD to well under a cent
#: of a billion).
CSV_FLOAT = "%.12g"


def write_csv(path: str | os.PathLike, frame, **kwargs) -> Path:
    kwargs.setdefault("float_format", CSV_FLOAT)
    return atomic_write(path, lambda p: frame.to_csv(p, **kwargs))


def manifest(
    results: Sequence[Results],
    command: Sequence[str] | None = None,
    seed: int | None = None,
    files: Sequence[str] = (),
    outputs: Mapping[str, str] | None = None,
    draws: int | None = None,
    analysis: Mapping[str, Any] | None = None,
) -> dict:
    """What ``run.json`` records: version, resolved scenarios and their SHA-256, seed, draws, command line.

    ``outputs`` maps each written file name to the SHA-256 of its bytes;
    ``environment`` names the versions that can change a figure's last bits;
    ``analysis`` (sweeps and solves) what was varied and asked, in the JSON
    form of :func:`analysis_value`. ``finmodel run --check DIR`` re-runs
    ``scenarios[0].resolved`` (and the analysis) and compares.
    """
    import numpy
    import pandas

    return {
        "finmodel_version": __version__,
        "command": list(command) if command is not None else list(sys.argv),
        "seed": seed,
        "draws": draws,
        "environment": {
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
        },
        "scenarios": [
            {
                "name": r.scenario.name,
                "path": r.scenario.path,
                "files": list(r.scenario.files),
                "sha256": r.scenario.sha256(),
                "resolved": r.scenario.resolved(),
                # --set items, as given and as parsed (in "resolved" already; run --check replays them)
                **({"overrides": [dict(o) for o in r.scenario.overrides]} if r.scenario.overrides else {}),
            }
            for r in results
        ],
        "files": sorted(files),
        "outputs": dict(sorted((outputs or {}).items())),
        **({"analysis": dict(analysis)} if analysis is not None else {}),
    }


def analysis_value(value: Any) -> Any:
    """A swept value as ``run.json`` keeps it: numbers and null as they are, an infinity as
    ``"inf"``, a year map as ``{"year_map": {"2026": 0.3}}``; :func:`value_from_analysis` reads it back.

    >>> analysis_value({2026: 0.3}), analysis_value(float("inf")), analysis_value(None)
    ({'year_map': {'2026': 0.3}}, 'inf', None)
    >>> value_from_analysis(analysis_value({2026: 0.3}))
    {2026: 0.3}
    """
    if isinstance(value, Mapping):
        return {"year_map": {str(int(k)): analysis_value(v) for k, v in value.items()}}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, np.generic):
        return analysis_value(value.item())
    return value


def value_from_analysis(value: Any) -> Any:
    """The value :func:`analysis_value` recorded."""
    if isinstance(value, Mapping) and set(value) == {"year_map"}:
        return {int(k): value_from_analysis(v) for k, v in value["year_map"].items()}
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def sweep_analysis(result) -> dict[str, Any]:
    """What a sweep varied and read, for ``run.json``."""
    axes = {"x": (result.x_path, result.x_values), "y": (result.y_path, result.y_values)}
    return {
        "command": "sweep",
        **{
            k: ({"path": path, "values": [analysis_value(v) for v in values]} if path else None)
            for k, (path, values) in axes.items()
        },
        "metric": result.metric,
        "case": result.case,
    }


def solve_analysis(result) -> dict[str, Any]:
    """What a solve asked, for ``run.json``."""
    return {
        "command": "solve",
        "parameter": result.parameter,
        "metric": result.metric,
        "target": result.target,
        "case": result.case,
        **result.asked,
    }


def sweep_texts(result) -> dict[str, str]:
    """The text of ``sweep.csv``: one row per cell."""
    return {"sweep.csv": result.frame().to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n")}


def solve_texts(result) -> dict[str, str]:
    """The text of ``solve.json``."""
    return {"solve.json": json_text(result.to_dict())}


def render_run(results: Results) -> dict[str, str]:
    """The texts of ``summary.json`` and ``cashflows.csv`` (MODEL.md section 12), byte for byte."""
    return {
        "summary.json": json_text(results.to_dict()),
        "cashflows.csv": results.cashflows.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n"),
    }


def write_run(results: Results, out: str | os.PathLike, command: Sequence[str] | None = None) -> list[Path]:
    """``summary.json`` and ``cashflows.csv`` (MODEL.md section 12), then ``run.json``.

    Every text is rendered before the first file is written, so a failure
    while formatting leaves the folder as it was.
    """
    out = Path(out)
    texts = render_run(results)
    written = [write_text(out / name, text) for name, text in texts.items()]
    digests = {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in texts.items()}
    written.append(
        write_json(out / MANIFEST, manifest([results], command, files=list(texts), outputs=digests))
    )
    return written


# --------------------------------------------------------------------------- memo pack

__all__ += [
    "FIGURE_FORMATS",
    "FIGURE_KINDS",
    "write_figure",
    "write_pack_xlsx",
    "check_pack_names",
    "write_report",
    "write_reports",
    "write_compare",
]

#: The formats a chart may be written in; PNG at style.PNG_DPI (200 dpi, 1300 px across).
FIGURE_KINDS = ("png", "svg", "pdf")
#: What every writing command writes unless told otherwise (``--formats``): PDF is asked for,
#: since embedding its fonts costs more than the rest of a report.
FIGURE_FORMATS = ("png", "svg")
_SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def _write_utf8(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_figure(
    fig, out: str | os.PathLike, stem: str, formats: Sequence[str] = FIGURE_FORMATS
) -> list[Path]:
    """Save a chart as ``stem.png`` (200 dpi), ``.svg`` (text kept as text), ``.pdf``: each of ``formats``.

    Each file is written atomically.

    Dates are left out of the file metadata so that the same figure gives the same bytes.
    """
    from finmodel.outputs import style

    creator = f"finmodel {__version__}"
    metadata = {
        "png": {"Software": creator},
        "svg": {"Date": None, "Creator": creator},
        "pdf": {"CreationDate": None, "Creator": creator},
    }
    written = []
    with style.memo_style():
        for kind in formats:
            written.append(
                atomic_write(
                    Path(out) / f"{stem}.{kind}",
                    lambda p, kind=kind: fig.savefig(
                        p, format=kind, dpi=style.PNG_DPI, metadata=metadata.get(kind)
                    ),
                )
            )
    return written


def write_pack_xlsx(results: Results, path: str | os.PathLike) -> Path:
    """``tables.xlsx``: the sheets of :func:`finmodel.outputs.workbook.pack_workbook`, no clock time."""
    from finmodel.outputs import workbook

    return save_workbook(workbook.pack_workbook(results), path)


def _digests(out: Path, paths: Sequence[Path]) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in paths
        if p.name != MANIFEST
    }


def _add_to_manifest(out: Path, paths: Sequence[Path]) -> Path:
    """List more files (and, where the manifest keeps them, their SHA-256) in ``out/run.json``.

    ``run.json`` is rewritten last, so its presence means the folder is complete.
    """
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    names = [str(p.relative_to(out)) for p in paths if p.name != MANIFEST]
    data["files"] = sorted(set(data.get("files", [])) | set(names))
    if isinstance(data.get("outputs"), dict):
        data["outputs"] = dict(sorted({**data["outputs"], **_digests(out, paths)}.items()))
    return write_json(out / MANIFEST, data)


def check_pack_names(scenarios: Sequence) -> None:
    """Several scenarios go to one subfolder each, named after the scenario.

    Names must be distinct and usable as a folder name; raises ScenarioError otherwise.
    """
    import re

    from finmodel.scenario import Problem, ScenarioError

    problems, seen = [], {}
    for s in scenarios:
        where = s.path or s.name
        if not re.match(_SAFE_NAME, s.name) or s.name in (".", ".."):
            problems.append(
                Problem(
                    where,
                    None,
                    "name",
                    f"{s.name!r} cannot name an output folder: use letters, digits, '_', '-' or '.'",
                )
            )
        elif s.name in seen:
            problems.append(
                Problem(
                    where,
                    None,
                    "name",
                    f"{s.name!r} is also the name of {seen[s.name]}; each scenario needs its own name",
                )
            )
        seen.setdefault(s.name, where)
    if problems:
        raise ScenarioError(problems)


def write_report(
    results: Results,
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """The memo pack of one scenario in ``out``.

    Every chart of :data:`finmodel.outputs.charts.SCENARIO_CHARTS` as PNG, SVG and
    PDF (and, for a scenario with ``cases:``, ``credit_vs_guarantee``);
    ``summary.md`` (headline sentences and the memo table);
    ``tables.xlsx``; then :func:`write_run`'s ``summary.json``,
    ``cashflows.csv`` and ``run.json``, the manifest listing every file.
    Check ``out`` with :func:`prepare_out_dir` before computing.
    """
    from finmodel.outputs import charts, memo

    out = Path(out)
    written: list[Path] = []
    for stem, chart in charts.SCENARIO_CHARTS.items():
        written += write_figure(chart(results).figure, out, stem, formats)
    if len(results.cases) > 2:  # cases: each case's value to the program beside its cost (section 15)
        written += write_figure(
            charts.credit_vs_guarantee(results).figure, out, "credit_vs_guarantee", formats
        )
    if charts.has_value_split(results):  # the credit shared with other owners or credit buyers (section 18)
        written += write_figure(charts.credit_value_split(results).figure, out, "credit_value_split", formats)
    written.append(_write_utf8(out / "summary.md", memo.summary_markdown(results, __version__)))
    written.append(write_pack_xlsx(results, out / "tables.xlsx"))
    written += write_run(results, out, command)
    _add_to_manifest(out, written)
    return written


def write_reports(
    results: Sequence[Results],
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """One memo pack per scenario in ``out/NAME/``; ``out/run.json`` lists them all."""
    check_pack_names([r.scenario for r in results])
    out = Path(out)
    written: list[Path] = []
    for r in results:
        written += write_report(r, out / r.scenario.name, command, formats)
    files = [str(p.relative_to(out)) for p in written]
    written.append(write_json(out / MANIFEST, manifest(results, command, files=files)))
    _add_to_manifest(out, written)
    return written


def write_compare(
    results: Sequence[Results],
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """Scenarios side by side in ``out``: ``compare.csv`` (USD, fractions), ``compare.md``,
    ``compare.xlsx`` (sheet Comparison), the charts of :data:`finmodel.outputs.charts.COMPARE_CHARTS`
    (PNG, SVG, PDF) and ``run.json``.

    Scenarios must share their year grid (:func:`finmodel.outputs.memo.check_same_grid`
    raises otherwise; nothing is re-aligned).
    """
    from finmodel.outputs import charts, memo, workbook

    memo.check_same_grid([r.scenario for r in results])
    check_pack_names([r.scenario for r in results])
    out = Path(out)
    table = memo.compare_table(results)
    written = [
        write_csv(out / "compare.csv", table, index=False),
        _write_utf8(out / "compare.md", memo.compare_markdown(table)),
    ]
    written.append(save_workbook(workbook.compare_workbook(table), out / "compare.xlsx"))
    for stem, chart in charts.COMPARE_CHARTS.items():
        written += write_figure(chart(results).figure, out, stem, formats)
    written.append(write_json(out / MANIFEST, manifest(results, command, files=[p.name for p in written])))
    _add_to_manifest(out, written)
    return written


# --------------------------------------------------------------------------- memo draft

__all__ += ["zip_without_time", "pdf_converter", "docx_to_pdf", "pdf_without_time", "write_memo"]

#: Converters of a Word file to PDF, looked up on PATH in this order (LibreOffice).
PDF_CONVERTERS = ("soffice", "libreoffice")
PDF_TIMEOUT_S = 180


def pdf_converter() -> str | None:
    """The path of a Word-to-PDF converter on PATH (LibreOffice's ``soffice``), or None."""
    import shutil

    return next((found for name in PDF_CONVERTERS if (found := shutil.which(name))), None)


def docx_to_pdf(docx: bytes, converter: str) -> bytes | None:
    """The PDF of a ``.docx`` by ``converter`` (LibreOffice, headless, in a temporary folder of its own).

    None when the converter fails or gives no file: the PDF is optional.
    """
    import subprocess

    with tempfile.TemporaryDirectory(prefix="finmodel-pdf-") as tmp:
        folder = Path(tmp)
        (folder / "memo.docx").write_bytes(docx)
        profile = (folder / "profile").as_uri()  # never the user's LibreOffice profile, never locked
        try:
            subprocess.run(
                [
                    converter,
                    f"-env:UserInstallation={profile}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(folder),
                    str(folder / "memo.docx"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=PDF_TIMEOUT_S,
                check=False,
                env={**os.environ, "HOME": str(folder)},
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        pdf = folder / "memo.pdf"
        return pdf_without_time(pdf.read_bytes()) if pdf.is_file() and pdf.stat().st_size else None


def pdf_without_time(pdf: bytes) -> bytes:
    """A PDF with its creation and modification dates set to 1980-01-01 and its ``/ID`` and
    ``/DocChecksum`` (which LibreOffice derives from the clock) made from its content.

    Every change keeps the length, so the cross-reference offsets stay right.

    >>> pdf_without_time(b"/CreationDate(D:20261202024524Z')/ID [ <0A1B> <0A1B> ]")
    b"/CreationDate(D:19800101000000Z')/ID [ <8181> <8181> ]"
    """
    pdf = re.sub(rb"(/(?:CreationDate|ModDate)\s*\(D:)\d{14}", rb"\g<1>19800101000000", pdf)
    ids = re.compile(
        rb"(/ID\s*\[\s*<)([0-9A-Fa-f]+)(>\s*<)([0-9A-Fa-f]+)(>)|(/DocChecksum\s*/)([0-9A-Fa-f]+)"
    )

    def hexes(match: re.Match, fill) -> bytes:
        return b"".join(
            fill(part) if i in (1, 3, 6) else part
            for i, part in enumerate(match.groups(), start=0)
            if part is not None
        )

    blank = ids.sub(lambda m: hexes(m, lambda h: b"0" * len(h)), pdf)
    digest = hashlib.sha256(blank).hexdigest().upper().encode()
    return ids.sub(lambda m: hexes(m, lambda h: digest[: len(h)]), blank)


def write_memo(
    results: Sequence[Results],
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    pdf: bool = True,
) -> list[Path]:
    """The memo draft in ``out``: ``memo.docx`` (:func:`finmodel.outputs.memo_docx.memo_bytes`),
    ``memo.pdf`` when ``pdf`` and a converter is on PATH (:func:`pdf_converter`), then ``run.json``.

    The document (and the PDF) is made before the first file is written.
    Several scenarios must share their year grid
    (:func:`finmodel.outputs.memo.check_same_grid`).
    """
    from finmodel.outputs import memo, memo_docx

    results = list(results)
    memo.check_same_grid([r.scenario for r in results])
    check_pack_names([r.scenario for r in results])
    out = Path(out)
    blobs = {memo_docx.MEMO_DOCX: memo_docx.memo_bytes(results)}
    converter = pdf_converter() if pdf else None
    if converter is not None:
        converted = docx_to_pdf(blobs[memo_docx.MEMO_DOCX], converter)
        if converted is not None:
            blobs["memo.pdf"] = converted
    written = [atomic_write(out / name, lambda p, b=blob: p.write_bytes(b)) for name, blob in blobs.items()]
    digests = {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()}
    written.append(write_json(out / MANIFEST, manifest(results, command, files=list(blobs), outputs=digests)))
    return written


# --------------------------------------------------------------------------- uncertainty

__all__ += ["write_montecarlo", "write_sensitivity", "write_sweep", "write_solve"]


def _finish(
    out: Path,
    texts: Mapping[str, str | Iterable[str]],
    figures: Mapping[str, Any],
    base: Results,
    command: Sequence[str] | None,
    seed: int | None = None,
    draws: int | None = None,
    formats: Sequence[str] = FIGURE_FORMATS,
    analysis: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write rendered texts and figures, then ``run.json`` listing them with their SHA-256."""
    written = [write_text(out / name, text) for name, text in texts.items()]
    for stem, fig in figures.items():
        written += write_figure(fig, out, stem, formats)
    names = [str(p.relative_to(out)) for p in written]
    record = manifest(
        [base],
        command,
        seed=seed,
        files=names,
        outputs=_digests(out, written),
        draws=draws,
        analysis=analysis,
    )
    written.append(write_json(out / MANIFEST, record))
    return written


#: Rows of ``draws.csv`` rendered at a time (a million draws never sit in memory as one text).
DRAWS_BLOCK = 65536


def montecarlo_texts(result) -> dict[str, str]:
    """The texts of a Monte Carlo folder: ``montecarlo.json``, ``montecarlo_summary.csv``,
    ``fan_percentiles.csv`` (what :func:`write_montecarlo` writes and ``run --check`` compares)."""
    import pandas

    fans = []
    for case in result.cases:  # every case of the scenario, as the fan chart shows them
        fan = result.fan(case).reset_index()
        fan.insert(0, "case", case)
        fans.append(fan)
    return {
        "montecarlo.json": json_text(result.to_dict()),
        "montecarlo_summary.csv": result.summary()
        .reset_index()
        .to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n"),
        "fan_percentiles.csv": pandas.concat(fans, ignore_index=True).to_csv(
            index=False, float_format=CSV_FLOAT, lineterminator="\n"
        ),
    }


def draws_csv_lines(result, block: int | None = None) -> Iterator[str]:
    """The lines of ``draws.csv`` (every draw's inputs and outputs), rendered ``block`` rows at a time
    (default :data:`DRAWS_BLOCK`; a streamed run: a chunk at a time, evaluated again); the same
    lines for any block size."""
    first = True
    for part in result.draw_frames(block or DRAWS_BLOCK):
        yield from part.to_csv(
            index=False, header=first, float_format=CSV_FLOAT, lineterminator="\n"
        ).splitlines()
        first = False


def write_montecarlo(
    result,
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    draws_csv: bool = False,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """Monte Carlo outputs: :func:`montecarlo_texts`, the charts of
    :data:`finmodel.outputs.charts.MONTECARLO_CHARTS` (and, for a scenario with ``cases:``,
    ``montecarlo_value_and_cost``), ``draws.csv`` (:func:`draws_csv_lines`)
    only if ``draws_csv``, and ``run.json`` with the seed and draws.

    Every text and figure is rendered before the first file is written, except ``draws.csv``,
    written line by line as it is rendered (a temporary file renamed at the end).
    """
    from finmodel.outputs import charts

    out = Path(out)
    texts: dict[str, Any] = montecarlo_texts(result)
    if draws_csv:
        texts["draws.csv"] = draws_csv_lines(result)
    figures = {stem: chart(result).figure for stem, chart in charts.MONTECARLO_CHARTS.items()}
    if len(result.cases) > 2:  # cases: each case's value to the program beside its cost, across draws
        figures["montecarlo_value_and_cost"] = charts.value_and_cost_across_draws(result).figure
    return _finish(
        out, texts, figures, result.base, command, seed=result.seed, draws=result.draws, formats=formats
    )


def sensitivity_texts(result) -> dict[str, str]:
    """The texts of a tornado folder: ``tornado.csv`` and ``sensitivity.json``."""
    frame = result.frame()
    data = {
        "scenario": result.scenario.name,
        "notes": list(result.notes),
        "base": {f"{m}.{c}": v for (m, c), v in result.base.items()},
        "bars": json.loads(frame.to_json(orient="records")),
    }
    return {
        "tornado.csv": frame.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n"),
        "sensitivity.json": json_text(data),
    }


def tornado_stem(key: tuple[str, str]) -> str:
    """The file name (no suffix) of the tornado chart of ``(metric, case)``.

    >>> tornado_stem(("npv_usd", "delta")), tornado_stem(("fiscal_cost_window_usd", "both"))
    ('tornado_delta_npv', 'tornado_treasury_cost_both')
    >>> tornado_stem(("equity_npv_usd", "delta.guarantee_only"))
    'tornado_delta_equity_npv_guarantee_only'
    """
    name, case = key
    short = {"npv_usd": "npv", "equity_npv_usd": "equity_npv", "fiscal_cost_window_usd": "treasury_cost"}
    what = short.get(name, name)
    if is_delta(case):
        return "_".join(["tornado_delta", what, *case.split(".")[1:]])
    if name == "fiscal_cost_window_usd":
        return "tornado_treasury_cost" + ("" if case == "with" else f"_{case}")
    return f"tornado_{what}_{case}"


def write_sensitivity(
    result,
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """Tornado outputs: :func:`sensitivity_texts` and one chart per metric, then ``run.json``."""
    from finmodel.engine.model import run
    from finmodel.outputs import charts

    out = Path(out)
    texts = sensitivity_texts(result)
    figures = {tornado_stem(key): charts.tornado_chart(result, metric=key).figure for key in result.metrics}
    return _finish(out, texts, figures, run(result.scenario), command, formats=formats)


def write_sweep(
    result,
    out: str | os.PathLike,
    command: Sequence[str] | None = None,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """Sweep outputs: ``sweep.csv`` (one row per cell), the heatmap chart, then ``run.json``."""
    from finmodel.engine.model import run
    from finmodel.outputs import charts

    out = Path(out)
    texts = sweep_texts(result)
    figures = {"sweep_heatmap": charts.sweep_heatmap(result).figure}
    base = run(result.scenario)
    return _finish(out, texts, figures, base, command, formats=formats, analysis=sweep_analysis(result))


def write_solve(result, out: str | os.PathLike, command: Sequence[str] | None = None) -> list[Path]:
    """``solve.json`` (the parameter value, the metric it achieves, the bracket), then ``run.json``."""
    from finmodel.engine.model import run

    base = run(result.scenario)
    return _finish(Path(out), solve_texts(result), {}, base, command, analysis=solve_analysis(result))
