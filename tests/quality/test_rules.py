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
