"""Bad scenario files fail cleanly: the right message, file, line and key; exit 2; nothing written.

The corpus is tests/bad_scenarios/; expected.yaml there gives, per file, the
problem it must produce. Resource bombs (alias expansion, deep nesting, a
10 MB file) also run in a subprocess under memory and CPU limits.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import SCENARIOS

import finmodel
from finmodel.cli import main
from finmodel.scenario import yamlio
from finmodel.scenario.yamlio import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, Problem, ScenarioError

CORPUS = Path(__file__).resolve().parent / "bad_scenarios"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
FINMODEL = Path(sys.executable).with_name("finmodel")

#: Address-space and CPU limits for the subprocess runs: far above what a
#: clean refusal needs (about 80 MB, well under a second), far below what an
#: expanded alias bomb or a runaway parse would take.
LIMIT_BYTES = 768 * 1024 * 1024
LIMIT_CPU_S = 60


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.name not in ("expected.yaml", "parents"))


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder`` with its SHA-256 and modification time (ns)."""
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def matches(problem: Problem, file: str, want: dict) -> bool:
    where = CORPUS / want.get("file", file)
    return (
        Path(problem.file).resolve() == where.resolve()
        and problem.line == want["line"]
        and problem.key == want["key"]
        and want["message"] in problem.message
    )


def assert_well_formed(problems: list[Problem]) -> None:
    assert problems
    for p in problems:
        assert isinstance(p.file, str) and p.file
        assert p.line is None or (isinstance(p.line, int) and p.line >= 1)
        assert isinstance(p.key, str)
        assert isinstance(p.message, str) and p.message.strip()
        assert "Traceback" not in p.message


@pytest.fixture(autouse=True)
def _in_corpus(monkeypatch):
    """Paths in expected.yaml and in messages are relative to the corpus folder."""
    monkeypatch.chdir(CORPUS)


def test_corpus_is_complete():
    files = corpus_files()
    assert len(files) >= 40
    assert sorted(EXPECTED) == files, "every corpus file needs an entry in expected.yaml, and only those"


def test_parent_is_valid():
    scenario = finmodel.load_scenario("parents/small.yaml")
    assert scenario["program.commitment_usd"] == 10e9


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_fails_with_expected_problem(name):
    with pytest.raises(ScenarioError) as info:
        finmodel.load_scenario(name)
    problems = info.value.problems
    assert_well_formed(problems)
    want = EXPECTED[name]
    assert any(matches(p, name, want) for p in problems), f"{name}: expected {want}, got:\n{info.value}"


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory) -> Path:
    """An output folder holding a good earlier run, to be left byte-identical."""
    out = tmp_path_factory.mktemp("previous") / "out"
    old = os.getcwd()
    os.chdir(CORPUS)
    try:
        assert main(["run", "parents/small.yaml", "--out", str(out)]) == 0
    finally:
        os.chdir(old)
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_refuses_and_writes_nothing(name, tmp_path, previous_run, capsys):
    want = EXPECTED[name]
    line = f":{want['line']}" if want["line"] else ""
    key = f" {want['key']}:" if want["key"] else ""
    prefix = f"{want.get('file', name)}{line}:{key}"

    fresh = tmp_path / "fresh"
    assert main(["run", name, "--out", str(fresh)]) == 2
    err = capsys.readouterr().err
    assert prefix in err and want["message"] in err and "Traceback" not in err
    assert not fresh.exists()

    before = snapshot(previous_run)
    assert main(["run", name, "--out", str(previous_run)]) == 2
    assert snapshot(previous_run) == before

    assert main(["validate", name]) == 2
    err = capsys.readouterr().err
    assert prefix in err and "nothing was written" in err


def _limits():  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (LIMIT_CPU_S, LIMIT_CPU_S))


def run_limited(*args: str, cwd: Path = CORPUS) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(
        [str(FINMODEL), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_limits,
        timeout=300,
    )


def test_whole_corpus_in_one_process_under_limits():
    """``finmodel validate`` on all corpus files at once: exit 2, each expected problem shown."""
    result = run_limited("validate", *sorted(EXPECTED))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr
    for name, want in EXPECTED.items():
        line = f":{want['line']}" if want["line"] else ""
        assert f"{want.get('file', name)}{line}:" in result.stderr, name
        assert want["message"] in result.stderr, name
    assert not (CORPUS / "pwned.txt").exists()


def _write_bombs(folder: Path) -> dict[str, str]:
    """Bigger bombs than the committed ones, generated here; name -> message fragment."""
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 12):  # 10**12 strings once expanded
        lines.append(f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    (folder / "laughs.yaml").write_text("\n".join(lines) + "\n")
    # alias bomb through mappings and merge keys
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for i in range(1, 12):
        lines.append(f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(8)) + "}")
    (folder / "map_laughs.yaml").write_text("\n".join(lines) + "\n")
    depth = (MAX_FILE_BYTES - 100) // 2
    (folder / "deep_flow.yaml").write_text("a: " + "[" * depth + "]" * depth + "\n")
    (folder / "deep_map.yaml").write_text("a: " + "{b: " * 200_000 + "1" + "}" * 200_000 + "\n")
    with open(folder / "ten_mb.yaml", "w") as fh:
        row = "# " + "x" * 97 + "\n"
        fh.write("program: {commitment_usd: 1B, start_year: 2026, years: 1}\n")
        fh.write(row * (10 * 1024 * 1024 // len(row)))
    many = "sources:\n" + "".join(f"  s{i}: c\n" for i in range(MAX_NODES + 10))
    (folder / "many_nodes.yaml").write_text(many[: MAX_FILE_BYTES - 1])
    return {
        "laughs.yaml": f"more than {MAX_NODES:,}",
        "map_laughs.yaml": f"more than {MAX_NODES:,}",
        "deep_flow.yaml": f"nested more than {MAX_DEPTH} levels deep",
        "deep_map.yaml": f"nested more than {MAX_DEPTH} levels deep",
        "ten_mb.yaml": f"a scenario file may be at most {MAX_FILE_BYTES:,} bytes",
        "many_nodes.yaml": f"more than {MAX_NODES:,}",
    }


@pytest.mark.slow
def test_bombs_refused_with_bounded_memory(tmp_path):
    bombs = _write_bombs(tmp_path)
    assert (tmp_path / "ten_mb.yaml").stat().st_size > 10 * 1000 * 1000
    for name, fragment in bombs.items():
        out = tmp_path / f"out_{name}"
        result = run_limited("run", name, "--out", str(out), cwd=tmp_path)
        assert result.returncode == 2, (name, result.stderr[-1500:])
        assert result.stderr.startswith(f"{name}:"), (name, result.stderr[:300])
        assert fragment in result.stderr, (name, result.stderr[:300])
        assert "Traceback" not in result.stderr
        assert not out.exists()


@pytest.mark.slow
def test_bombs_in_process(tmp_path):
    """The same bombs through the Python API: a ScenarioError, not MemoryError/RecursionError."""
    for name, fragment in _write_bombs(tmp_path).items():
        with pytest.raises(ScenarioError) as info:
            finmodel.load_scenario(tmp_path / name)
        assert_well_formed(info.value.problems)
        assert fragment in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_special_files_refused(tmp_path):
    """A named pipe would block a plain open(); a device would read for ever."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(tmp_path / "loop2.yaml")
    (tmp_path / "loop2.yaml").symlink_to(loop)
    cases = {
        fifo: "not a regular file",
        loop: "broken or looping symbolic link",
        tmp_path / "missing.yaml": "file not found",
    }
    if Path("/dev/zero").exists():
        cases[Path("/dev/zero")] = "not a regular file"
    for path, fragment in cases.items():
        with pytest.raises(ScenarioError) as info:
            finmodel.load_scenario(path)
        assert fragment in str(info.value)
        assert info.value.problems[0].file == str(path)


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    text = (CORPUS / "parents" / "small.yaml").read_text(encoding="utf-8")
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert finmodel.load_scenario(path)["program.years"] == 3


def test_merge_keys_follow_yaml_semantics(tmp_path):
    """``<<: *anchor``: keys written beside the merge override merged ones (not a duplicate)."""
    path = tmp_path / "merge.yaml"
    path.write_text(
        "program: {commitment_usd: 1B, start_year: 2026, years: 2}\n"
        "categories:\n"
        "  a: &x {share: 0.5, macrs_years: 5, life_years: 5}\n"
        "  b:\n"
        "    <<: *x\n"
        "    macrs_years: 7\n"
    )
    s = finmodel.load_scenario(path)
    assert s["categories.b.macrs_years"] == 7
    assert s["categories.b.life_years"] == 5
    assert s.provenance["categories.b.macrs_years"].line == 6
    assert s.provenance["categories.b.life_years"].line == 3


def test_problem_text_format():
    p = Problem("scenarios/x.yaml", 14, "policy.amic.rate", "must be between 0 and 1, got 3.5")
    assert str(p) == "scenarios/x.yaml:14: policy.amic.rate: must be between 0 and 1, got 3.5"
    assert str(Problem("d.yaml", None, "", "is a directory")) == "d.yaml: is a directory"


SHAPES = {
    "block-mapping": "sources:\n" + "".join(f"  s{i}: c\n" for i in range(1_010)),
    "flow": "a: [" + ", ".join(["x"] * 600) + "]\nb: {" + ", ".join(f"k{i}: v" for i in range(400)) + "}\n",
    "aliases": "a: &a [1, 2]\nb: [" + ", ".join(["*a"] * 1_100) + "]\n",
    "nested": "a:\n" + "".join(f"  - - {i}\n    - {{k: v}}\n" for i in range(300)),
    "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
    "deep-block": "".join(" " * (2 * i) + f"k{i}:\n" for i in range(70)) + " " * 140 + "v\n",
    "two-documents": "a: 1\n---\nb: [" + ", ".join(["x"] * 1_100) + "]\n",
}


def _read_both_ways(path: Path, monkeypatch) -> dict:
    """``read_yaml`` through libyaml and through the pure-Python loader: data and lines, or problems."""
    found = {}
    for parser in (yamlio._CParser, None):
        monkeypatch.setattr(yamlio, "_CParser", parser)
        try:
            found[parser is None] = yamlio.read_yaml(path)
        except ScenarioError as exc:
            found[parser is None] = exc.problems
    return found


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_libyaml_limits_agree_with_the_python_composer(tmp_path, monkeypatch, name):
    """libyaml's count of nodes and depth refuses with the Python composer's message and line."""
    monkeypatch.setattr(yamlio, "MAX_NODES", 1_000)
    path = tmp_path / "many.yaml"
    path.write_text(SHAPES[name])
    found = _read_both_ways(path, monkeypatch)
    assert found[True] == found[False]
    assert isinstance(found[True], list) and found[True][0].line > 1 or name == "deep", found[True]


@pytest.mark.parametrize(
    "path",
    sorted(SCENARIOS.glob("*.yaml"))
    + sorted(CORPUS.glob("*.yaml"))
    + sorted((CORPUS / "parents").glob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_libyaml_reads_every_file_as_the_python_loader_does(path, monkeypatch):
    """Every scenario and every file of the bad corpus: the same data, key lines and problems both ways."""
    found = _read_both_ways(path, monkeypatch)
    assert found[True] == found[False]
