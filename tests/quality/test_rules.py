"""The rule table loads, every rule is complete, and malformed tables fail loudly."""

import pytest
import yaml

from pipelines.quality import RuleError, load_rules
from pipelines.quality.registry import CHECKS
from pipelines.quality.rules import parse_rules

REQUIRED_RULES = {
    "range.share_bounds", "range.share_scale", "range.negative", "range.magnitude_slip",
    "gender.total_between", "gender.total_sum", "gender.swapped", "year_over_year.hb", "identical.unchanged",
    "outlier.national", "outlier.similar", "missing.value", "missing.status", "definition.metadata_changed",
    "definition.source_mismatch", "integrity.duplicate", "integrity.unknown_kpi",
    "integrity.unknown_municipality", "integrity.future_year",
}


def test_rule_table_loads_with_every_required_rule(rules):
    assert REQUIRED_RULES <= set(rules.ids)
    for rule in rules:
        assert rule.check in CHECKS
        assert rule.severity in ("error", "warning")
        assert rule.description and rule.message


def test_every_check_is_used_by_a_rule(rules):
    assert set(CHECKS) == {rule.check for rule in rules}


def _document(**changes):
    rule = {"id": "range.negative", "description": "d", "severity": "error", "message": "m {observed}"}
    rule.update(changes)
    return {"version": "1", "rules": [rule]}


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"severity": "fatal"}, "severity"),
        ({"check": "range.nonsense"}, "no check named"),
        ({"applies_to": {"units": ["percentage"]}}, "unknown units"),
        ({"applies_to": {"genders": ["X"]}}, "unknown genders"),
        ({"parameter": {}}, "unknown keys"),
        ({"message": "broken {"}, "does not parse"),
        ({"message": ""}, "'message' is required"),
    ],
)
def test_malformed_rules_are_rejected(changes, match):
    with pytest.raises(RuleError, match=match):
        parse_rules(_document(**changes))


def test_duplicate_rule_ids_are_rejected():
    doc = _document()
    doc["rules"] = doc["rules"] * 2
    with pytest.raises(RuleError, match="duplicated"):
        parse_rules(doc)


def test_rules_can_be_json(tmp_path):
    import json

    path = tmp_path / "rules.json"
    path.write_text(json.dumps(_document()), encoding="utf-8")
    assert load_rules(path).ids == ["range.negative"]


def test_overrides_do_not_touch_the_loaded_table(rules):
    changed = rules.with_parameters("year_over_year.hb", C=3.0)
    assert changed["year_over_year.hb"].param("C") == 3.0
    assert rules["year_over_year.hb"].param("C") != 3.0
    only = rules.only("range.negative")
    assert [r.id for r in only.enabled()] == ["range.negative"]


def test_yaml_file_is_plain_data():
    from pipelines.quality.rules import DEFAULT_RULES_PATH

    document = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    assert isinstance(document["rules"], list)


def _hb_document(**parameters) -> dict:
    from pipelines.quality.rules import DEFAULT_RULES_PATH

    document = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    hb = next(r for r in document["rules"] if r["id"] == "year_over_year.hb")
    hb["parameters"] = parameters
    return document


def test_a_misspelt_parameter_is_refused_naming_the_rule_and_the_key():
    from pipelines.quality.rules import parse_rules

    with pytest.raises(RuleError, match=r"rule year_over_year\.hb .*unknown parameter 'c'"):
        parse_rules(_hb_document(U=0.5, A=0.05, c=10.0, C=10.0, min_units=10, min_group_size=20))


def test_a_missing_parameter_is_refused_there_are_no_defaults_in_code():
    from pipelines.quality.rules import parse_rules

    with pytest.raises(RuleError, match=r"rule year_over_year\.hb .*parameter 'C' is missing"):
        parse_rules(_hb_document(U=0.5, A=0.05, min_units=10, min_group_size=20))


def test_parameters_out_of_bounds_are_refused(rules):
    from pipelines.quality.rules import parse_rules

    with pytest.raises(RuleError, match=r"parameter 'U'"):
        parse_rules(_hb_document(U=2.0, A=0.05, C=10.0, min_units=10, min_group_size=20))
    with pytest.raises(RuleError, match=r"rule outlier\.national .*parameter 'k'"):
        rules.with_parameters("outlier.national", k=-1)


def test_every_check_has_a_parameter_model_and_a_function():
    from pipelines.quality.parameters import PARAMETERS
    from pipelines.quality.registry import CHECKS

    assert set(CHECKS) == set(PARAMETERS)


def test_no_import_cycle_between_the_rule_table_the_registry_and_the_checks():
    """rules.py and parameters.py import no check module and not the registry (not even lazily); the
    check modules do not import the registry: the imports form a tree, registry at the top."""
    import ast

    from pipelines.config import PROJECT_ROOT

    quality = PROJECT_ROOT / "pipelines" / "quality"
    checks = {"range", "gender", "year_over_year", "identical", "outlier", "missing", "definition", "integrity"}

    def imported(name: str) -> set[str]:
        tree = ast.parse((quality / f"{name}.py").read_text(encoding="utf-8"))
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipelines.quality"):
                found.add(node.module.rsplit(".", 1)[-1])
                found.update(alias.name for alias in node.names)
        return found

    for table in ("rules", "parameters"):
        assert not imported(table) & (checks | {"registry", "flags", "context"}), table
    for check in checks:
        assert "registry" not in imported(check), check
