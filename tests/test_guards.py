"""Guards on values that validate but look mistaken (finmodel.scenario.guards), ``--strict``, closed pipes.

A warning names the file, the line, the key and the likely fix; the scenario
layer collects warnings (``Scenario.warnings``) and the command line prints
them on stderr as ``FILE:LINE: KEY: warning: ...``; ``--strict`` makes them
errors (exit 2, nothing written). No scenario in scenarios/ warns.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS, all_scenarios

from finmodel.cli import main
from finmodel.scenario import ScenarioError, load_scenario
from finmodel.scenario.guards import magnitude_warning, title_warnings
from finmodel.scenario.params import BY_PATH

BASE = SCENARIOS / "base.yaml"


def _write(tmp_path: Path, body: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {BASE}\nname: x\n{body}", encoding="utf-8")
    return path


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.name)
def test_no_scenario_warns(path):
    assert load_scenario(path).warnings == ()


def test_commitment_written_in_billions_without_suffix_warns(tmp_path):
    path = _write(tmp_path, "title: a program\nprogram:\n  commitment_usd: 1400\n")
    (w,) = load_scenario(path).warnings
    assert (w.file, w.line, w.key) == (str(path), 5, "program.commitment_usd")
    assert 'did you mean "1400B"?' in w.message and "$1,400" in w.message


@pytest.mark.parametrize(
    "written, hint",
    [(1.4, '"1.4T"'), (1400, '"1400B"'), ("1400", '"1400B"'), ("$2500", '"2500B"'), (5e-324, 'T"?')],
)
def test_the_hint_takes_the_suffix_nearest_the_typical_size(written, hint):
    p = BY_PATH["program.commitment_usd"]
    value = float(str(written).lstrip("$"))
    assert hint in magnitude_warning(p, written, value)


@pytest.mark.parametrize("written", ["1400B", "1.4T", "900K", 2e6, 1.4e12, 0.0])
def test_money_with_a_suffix_or_of_a_plausible_size_does_not_warn(written):
    from finmodel.scenario.units import parse_money

    p = BY_PATH["program.commitment_usd"]
    assert magnitude_warning(p, written, parse_money(written)) is None


def test_revenue_per_gw_year_has_a_typical_size_and_power_price_none(tmp_path):
    path = _write(
        tmp_path,
        "title: a program\noperations:\n  revenue_usd_per_gw_year: 10\n  power_price_usd_per_mwh: 60\n",
    )
    (w,) = load_scenario(path).warnings
    assert w.key == "operations.revenue_usd_per_gw_year" and 'did you mean "10B"?' in w.message
    assert BY_PATH["operations.power_price_usd_per_mwh"].typical is None


@pytest.mark.parametrize(
    "body, line, key, hint",
    [
        ("policy:\n  amic:\n    rate: 35\n", 5, "policy.amic.rate", "write 35% or 0.35"),
        ("policy:\n  amic:\n    rate: {2026: 35}\n", 5, "policy.amic.rate[2026]", "write 35% or 0.35"),
        ("tax:\n  corporate_rate: 21\n", 4, "tax.corporate_rate", "write 21% or 0.21"),
        ("finance:\n  discount_rate: 8\n", 4, "finance.discount_rate", "write 8% or 0.08"),
    ],
)
def test_a_rate_above_one_is_refused_with_the_hint(tmp_path, body, line, key, hint):
    path = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    (p,) = err.value.problems
    assert (p.line, p.key) == (line, key)
    assert p.message.startswith("must be") and p.message.endswith(f"a rate is a fraction: {hint}")


def test_a_percent_string_above_100_gets_no_fraction_hint(tmp_path):
    path = _write(tmp_path, "policy:\n  amic:\n    rate: 135%\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "a rate is a fraction" not in str(err.value)


@pytest.mark.parametrize(
    "title, values, said",
    [
        ("OpenAI $1.4T compute build-out", {"program.commitment_usd": 1400.0}, "$1.4T"),
        ("OpenAI $1.4T build-out", {"program.commitment_usd": 1.5e12}, "$1.4T"),
        ("A $900B program", {"program.commitment_usd": 1.4e12}, "$900B"),
        ("Servers to hold 30 GW", {"program.capacity_gw": 25.0}, "30 GW"),
        ("AMIC at 25%", {"policy.amic.rate": {0: 0.35}}, "AMIC at 25%"),
        ("A 35% credit", {"policy.amic.rate": {2023: 0.25, 2026: 0.30}}, "35% credit"),
    ],
)
def test_a_title_figure_the_values_contradict_warns(title, values, said):
    ((path, message),) = title_warnings(title, values)
    assert path == ("title",) and message.startswith(f'says "{said}" but ')


@pytest.mark.parametrize(
    "title, values",
    [
        ("OpenAI $1.4T build-out", {"program.commitment_usd": 1.44e12}),
        ("$1,400B build-out", {"program.commitment_usd": 1.4e12}),
        ("Servers to hold 30 GW", {"program.capacity_gw": 30.0}),
        ("AMIC at 25% instead of 35%", {"policy.amic.rate": {0: 0.25}}),
        ("revenue of $12B per GW-year", {"program.commitment_usd": 1.4e12}),  # not the program's size
        ("60% debt", {"policy.amic.rate": {0: 0.35}}),  # not the credit's rate
        ("$10B per GW-year, 2 GW-year", {"program.capacity_gw": 30.0}),
        ("untitled", {}),
    ],
)
def test_titles_that_agree_or_state_nothing_read_here_do_not_warn(title, values):
    assert title_warnings(title, values) == []


def test_a_title_warning_names_the_title_line(tmp_path):
    path = _write(tmp_path, 'title: "OpenAI $2T build-out"\n')
    (w,) = load_scenario(path).warnings
    assert (w.line, w.key) == (3, "title") and "program.commitment_usd is $1.4T" in w.message


def test_a_scenario_with_cases_warns_once_per_line(tmp_path):
    """Every case is validated as a scenario of its own: its inherited warnings are not repeated."""
    cases = "cases:\n  both:\n    finance:\n      debt:\n        share: 0.5\n"
    path = _write(tmp_path, f"title: a program\nprogram:\n  commitment_usd: 1400\n{cases}")
    scenario = load_scenario(path)
    assert [w.key for w in scenario.warnings] == ["program.commitment_usd"]
    assert [w.key for w in scenario.case_scenarios["both"].warnings] == ["program.commitment_usd"]


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def warned(tmp_path) -> Path:
    return _write(tmp_path, 'title: "OpenAI $1.4T build-out"\nprogram:\n  commitment_usd: 1400\n', "w.yaml")


def _warning_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": warning: " in line]


@pytest.mark.parametrize("command", ["run", "validate", "sources"])
def test_every_loading_command_prints_the_warnings_and_goes_on(warned, capsys, command):
    assert main([command, str(warned)]) == 0
    lines = _warning_lines(capsys.readouterr().err)
    assert f"{warned}:5: program.commitment_usd: warning: 1400 reads as $1,400" in lines[0]
    assert lines[1].startswith(f'{warned}:3: title: warning: says "$1.4T" but')
    assert len(lines) == 2


def test_diff_of_two_files_warns_once_per_line(warned, tmp_path, capsys):
    other = _write(tmp_path, "title: other\n", "o.yaml")
    assert main(["diff", str(warned), str(other)]) == 0
    assert len(_warning_lines(capsys.readouterr().err)) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--strict", "run", "{w}", "--out", "{out}"],
        ["run", "{w}", "--strict", "--out", "{out}"],
        ["report", "{w}", "--out", "{out}", "--strict"],
        ["--strict", "sweep", "{w}", "--x", "policy.amic.rate=0.3,0.35", "--out", "{out}"],
    ],
)
def test_strict_refuses_warnings_and_writes_nothing(warned, tmp_path, capsys, argv):
    out = tmp_path / "out"
    code = main([a.format(w=warned, out=out) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "program.commitment_usd: warning: " in err and "nothing was written" in err


def test_strict_passes_a_clean_scenario(capsys):
    assert main(["--strict", "validate", *map(str, all_scenarios())]) == 0
    assert capsys.readouterr().err == ""


def test_strict_validate_lists_every_file_s_warnings(warned, capsys):
    assert main(["validate", "--strict", str(BASE), str(warned)]) == 2
    captured = capsys.readouterr()
    assert f"{BASE}: ok" in captured.out
    assert len(_warning_lines(captured.err)) == 2


# --------------------------------------------------------------------------- closed pipe


@pytest.mark.parametrize(
    "command",
    [
        "sources {base}",
        "sources --csv {base}",
        "run {base}",
        "diff {base} {rate}",
        "validate {all}",
        "schema -",
        "sweep {base} --x policy.amic.rate=0:0.5:400",
        "--help",
    ],
)
def test_a_closed_pipe_ends_quietly(command):
    line = command.format(base=BASE, rate=SCENARIOS / "rate_25.yaml", all=" ".join(map(str, all_scenarios())))
    shell = (
        f"{sys.executable} -m finmodel.cli {line} | head -c 1 >/dev/null; "
        'echo "status ${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=300)
    lines = done.stderr.splitlines()
    assert lines[-1] in ("status 0", "status 141"), done.stderr
    assert lines[:-1] == [], done.stderr
