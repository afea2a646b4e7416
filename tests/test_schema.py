"""The JSON Schema of scenario files (``finmodel schema``): up to date, valid, and faithful to the loader.

Oracles: the committed file against a fresh generation from the declarations;
every scenario in scenarios/ (which the loader accepts) against the schema;
the loader's own parsers (units.py) against the schema's notations; and the
bad-input corpus, most of which the schema must already refuse in an editor.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ROOT, SCENARIOS
from hypothesis import assume, given
from hypothesis import strategies as st

import finmodel
from finmodel.cli import main
from finmodel.scenario import units
from finmodel.scenario.params import PARAMETERS, Param, out_of_range
from finmodel.scenario.schema import MODELINE, SCHEMA_FILE, scenario_schema, schema_text
from finmodel.scenario.schema_values import notation
from finmodel.scenario.yamlio import ScenarioError, read_yaml

BAD = ROOT / "tests" / "bad_scenarios"
#: Of the 64 corpus files the safe reader can read, the schema refuses 40; the other 24 break rules
#: across keys or files (shares, horizon, source IDs, parents) or hold .nan, .inf or 1e400, which
#: only the loader sees. The other 28 files are not readable YAML (syntax, encoding, tags, bombs).
MIN_REFUSED = 40


def scenario_files() -> list[Path]:
    return sorted([*SCENARIOS.glob("*.yaml"), *SCENARIOS.glob("*.yml")])


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = scenario_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def as_json(data):
    """What an editor checks: the YAML data as JSON (keys as text, dates as text)."""
    return json.loads(json.dumps(data, default=str))


def refused(validator, data) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(as_json(data))
    ]


def test_committed_schema_is_the_generated_one():
    committed = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_text(), (
        f"{SCHEMA_FILE} is out of date with the declarations: run `finmodel schema`"
    )


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.name)
def test_scenario_names_the_schema_on_its_first_line(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == MODELINE, f"{path.name}: the first line must be {MODELINE!r}"


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.name)
def test_every_scenario_satisfies_the_schema(path, validator):
    problems = refused(validator, yaml.safe_load(path.read_text(encoding="utf-8")))
    assert not problems, f"{path.name}: {problems}"


def corpus_verdicts(validator) -> dict[str, str]:
    """Each corpus file: 'unreadable' (YAML or the safe reader refuses it), 'refused' or 'accepted'."""
    out = {}
    for path in sorted(BAD.iterdir()):
        if path.name in ("expected.yaml", "parents"):
            continue
        try:
            data, _ = read_yaml(path)
        except ScenarioError:
            out[path.name] = "unreadable"
            continue
        out[path.name] = "refused" if refused(validator, data) else "accepted"
    return out


def test_schema_refuses_most_of_the_bad_corpus(validator):
    verdicts = corpus_verdicts(validator)
    readable = [name for name, v in verdicts.items() if v != "unreadable"]
    refused_names = [name for name in readable if verdicts[name] == "refused"]
    assert len(refused_names) >= MIN_REFUSED, sorted(set(readable) - set(refused_names))
    # Files that break one key's own rule are refused in the editor already.
    for name in (
        "rate_above_one.yaml",
        "rate_percent_above.yaml",
        "choice_typo.yaml",
        "unknown_param_typo.yaml",
        "norway_bool.yaml",
    ):
        assert verdicts[name] == "refused", name


def test_every_declared_key_is_described():
    schema = scenario_schema()
    for p in PARAMETERS:
        node = schema
        parts = p.path.split(".")
        for i, part in enumerate(parts):
            node = (
                node["additionalProperties"]
                if parts[i - 1 : i] == ["categories"]
                else node["properties"][part]
            )
        assert node["description"].startswith(p.description.rstrip(".")), p.path
        assert node["unit"] == p.unit, p.path
        assert "Default:" in node["description"], p.path
        if not p.required and not callable(p.default):
            assert "default" in node, p.path
        if p.kind == "choice":
            assert schema["$defs"][f"choice_{p.path}"]["enum"] == list(p.choices), p.path


#: Keywords newer than draft 7: yaml-language-server validates with a draft-7 engine, so the
#: schema keeps to what both read the same ($defs is only a place that $ref points into).
NEWER_THAN_DRAFT_7 = {
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "minContains",
    "maxContains",
    "$dynamicRef",
    "$dynamicAnchor",
    "$anchor",
    "$recursiveRef",
}


def keywords(node) -> set[str]:
    if isinstance(node, dict):
        found = set(node)
        for key, value in node.items():
            if key not in ("properties", "patternProperties", "$defs"):
                found |= keywords(value)
            else:
                for sub in value.values():
                    found |= keywords(sub)
        return found
    if isinstance(node, list):
        return set().union(*(keywords(x) for x in node)) if node else set()
    return set()


def test_editors_with_a_draft_7_engine_read_the_schema_alike():
    schema = scenario_schema()
    assert not keywords(schema) & NEWER_THAN_DRAFT_7
    draft7 = jsonschema.Draft7Validator({k: v for k, v in schema.items() if k != "$schema"})
    for scenario in scenario_files():
        assert not list(draft7.iter_errors(as_json(yaml.safe_load(scenario.read_text(encoding="utf-8"))))), (
            scenario
        )
    assert not draft7.is_valid({"extends": "base.yaml", "tax": {"corporate_rate": "135%"}})


def test_base_keys_are_required_only_without_extends(validator):
    assert any("program" in e for e in refused(validator, {"name": "x", "categories": {}}))
    assert not refused(validator, {"extends": "base.yaml", "policy": {"amic": {"rate": "25%"}}})
    assert refused(validator, {"extends": "base.yaml", "policy": {"amic": {"rate": "125%"}}})
    assert refused(validator, {"extends": "base.yaml", "cases": {"with": {"tax": {}}}})


def test_schema_command_writes_the_schema(tmp_path, capsys):
    assert main(["schema", str(tmp_path / "s.json")]) == 0
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == schema_text()
    capsys.readouterr()
    assert main(["schema", "-"]) == 0
    assert capsys.readouterr().out == schema_text()
    assert main(["schema", str(tmp_path / "s.json" / "under_a_file.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


# --------------------------------------------------------------------------- notations against units.py

RATE = Param("r", "rate", "fraction", "", lo=0, hi=1)
GROWTH = Param("g", "rate", "per year", "", lo=-0.5, hi=1, lo_open=True)
MONEY = Param("m", "money", "USD", "", lo=0)


def schema_accepts(p: Param, value) -> bool:
    return jsonschema.Draft202012Validator(notation(p)).is_valid(value)


def loader_accepts(p: Param, value) -> bool:
    parse = units.parse_money if p.kind == "money" else units.parse_rate
    try:
        return not out_of_range(p, parse(value))
    except units.UnitError:
        return False


@given(
    st.decimals(min_value=-200, max_value=200, places=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(["{}%", "{} %", " {}%"]),
    st.sampled_from([RATE, GROWTH]),
)
def test_percent_strings_agree_with_the_loader(number, form, p):
    assume(not (number == 0 and number.is_signed()))  # "-0%": the loader reads 0, the schema wants no sign
    text = form.format(number)
    assert schema_accepts(p, text) == loader_accepts(p, text), text


@given(
    st.decimals(min_value=-1e6, max_value=1e6, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["{}", "${}", "{}T", "{}b", "$ {}M", "{}K"]),
)
def test_money_strings_agree_with_the_loader(number, form):
    assume(not (number == 0 and number.is_signed()))
    text = form.format(number)
    assert schema_accepts(MONEY, text) == loader_accepts(MONEY, text), text


@pytest.mark.parametrize("text", ["1.4T", "$250B", "35m", "1_500,000", "1.4e12", ".5B"])
def test_money_notations_of_the_units_docstring(text):
    assert schema_accepts(MONEY, text) and loader_accepts(MONEY, text)


@pytest.mark.parametrize("text", ["35%", "3.5e-1", "1e-3", "0.35", "100%"])
def test_rate_notations_of_the_units_docstring(text):
    assert schema_accepts(RATE, text) and loader_accepts(RATE, text)


# --------------------------------------------------------------------------- steps of a rate by year


def loads(tmp_path, data) -> bool:
    """Whether finmodel's loader accepts ``data`` (a file extending the base scenario)."""
    path = tmp_path / "step.yaml"
    path.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "base.yaml"), **data}), encoding="utf-8")
    try:
        finmodel.load_scenario(path)
    except finmodel.ScenarioError:
        return False
    return True


def test_steps_of_a_rate_by_year_validate_in_uncertainty_and_sensitivity(validator, tmp_path):
    data = {
        "name": "steps",
        "uncertainty": {
            "draws": 100,
            "seed": 1,
            "parameters": {
                "policy.amic.rate[2026]": {"dist": "uniform", "low": "25%", "high": "35%"},
                "tax.bonus_depreciation[2030]": {"dist": "triangular", "low": 0.2, "mode": 0.5, "high": 1},
                "policy.amic.rate": {"dist": "uniform", "low": 0.3, "high": 0.35},
            },
        },
        "sensitivity": {
            "policy.amic.rate[2026]": {"low": "25%", "high": "40%"},
            "tax.bonus_depreciation[2030]": {"low": 0, "high": 1},
        },
    }
    assert loads(tmp_path, data)
    assert not refused(validator, {"extends": "base.yaml", **data})
    assert jsonschema.Draft7Validator(  # as yaml-language-server reads it
        {k: v for k, v in scenario_schema().items() if k != "$schema"}
    ).is_valid(as_json({"extends": "base.yaml", **data}))


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("policy.amic.rate[2026]", True),
        ("policy.amic.rate[1900]", True),
        ("policy.amic.rate[2200]", True),
        ("tax.bonus_depreciation[2031]", True),
        ("policy.amic.rate[2201]", False),  # outside the years of a year map
        ("policy.amic.rate[1899]", False),
        ("policy.amic.rate[0999]", False),
        ("policy.amic.rate[26]", False),  # a year has four digits
        ("policy.amic.rate[02026]", False),
        ("policy.amic.rate [2026]", False),
        ("policy.amic.rate[2026] ", False),
        ("policy.amic.rate[]", False),
        ("tax.corporate_rate[2026]", False),  # one rate, not a rate by year
        ("program.commitment_usd[2026]", False),
        ("policy.amic.rates[2026]", False),
    ],
)
@pytest.mark.parametrize("block", ["uncertainty", "sensitivity"])
def test_the_schema_takes_the_step_keys_the_loader_takes(validator, tmp_path, key, ok, block):
    if block == "sensitivity":
        data = {"sensitivity": {key: {"low": "25%", "high": "40%"}}}
    else:
        data = {"uncertainty": {"parameters": {key: {"dist": "uniform", "low": 0.25, "high": 0.4}}}}
    assert loads(tmp_path, data) == ok, key  # the loader, the oracle
    assert (not refused(validator, {"extends": "base.yaml", **data})) == ok, key


@pytest.mark.parametrize(
    "entry",
    [
        {"low": "25%", "high": "135%"},  # above the rate's range
        {"low": {2026: 0.3}, "high": 0.4},  # a step is one rate, not a year map
        {"low": None, "high": 0.4},
        {"low": 0.25},
    ],
)
def test_a_bad_step_value_is_refused_by_both(validator, tmp_path, entry):
    data = {"sensitivity": {"policy.amic.rate[2026]": entry}}
    assert not loads(tmp_path, data)
    assert refused(validator, {"extends": "base.yaml", **data})


def test_schema_command_never_replaces_a_scenario_by_mistake(tmp_path, capsys):
    """``finmodel schema scenarios/base.yaml`` (a scenario given where the output goes) would have
    replaced the scenario with the schema; it is refused unless --force, and a folder always."""
    scenario = tmp_path / "base.yaml"
    text = (SCENARIOS / "base.yaml").read_text(encoding="utf-8")
    scenario.write_text(text, encoding="utf-8")
    assert main(["schema", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "exists and is not a finmodel schema" in err and "--force" in err
    assert scenario.read_text(encoding="utf-8") == text
    assert main(["schema", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    # a schema written before is replaced without asking; --force replaces anything
    target = tmp_path / "scenario.schema.json"
    assert main(["schema", str(target)]) == 0 and main(["schema", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_text()
    assert main(["schema", str(scenario), "--force"]) == 0
    assert scenario.read_text(encoding="utf-8") == schema_text()
