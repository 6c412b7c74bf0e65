"""Rules as data: the versioned rule table in ``expectations/rules.yml`` and its Python view.

A rule is a named check with a severity, parameters, a message template and what it applies to (units,
genders, optionally KPI ids), in the manner of Statistics Norway's KOSTRA control programme and the R
package ``validate``: the statistics live in code (one module per rule group), but *which* checks run,
*how strict* they are and *what the reviewer reads* live in the table, so staff can tune a threshold or
reword a message without touching Python, and every change is visible in the table's history.

Each rule names the check that implements it (``check``, defaulting to the rule id). Two rules may use the
same check with different parameters (for example one outlier rule against all kommuner and one against
similar kommuner).
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipelines.config import EXPECTATIONS_DIR
from pipelines.quality.parameters import PARAMETERS, Shared

SEVERITIES = ("error", "warning")
#: the kinds of figure (dbt model int_kolada_kpi_kinds for figures outside the KKiK catalogue): ``signed``
#: can be negative (a change, a result), ``unknown`` could not be told from Kolada's metadata
UNITS = ("percent", "days", "kr", "count", "index", "ratio", "signed", "unknown")
GENDERS = ("T", "K", "M")

DEFAULT_RULES_PATH = EXPECTATIONS_DIR / "rules.yml"

_RULE_KEYS = {"id", "check", "description", "severity", "parameters", "message", "applies_to", "enabled"}
_APPLIES_KEYS = {"units", "genders", "kpis", "exclude_kpis", "collection_methods"}


class RuleError(ValueError):
    """The rule table is malformed: the message names the rule and what is wrong."""


def _problems(error: ValidationError) -> str:
    out = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(parameters)"
        if problem["type"] == "extra_forbidden":
            out.append(f"unknown parameter {key!r}")
        elif problem["type"] == "missing":
            out.append(f"parameter {key!r} is missing")
        else:
            out.append(f"parameter {key!r}: {problem['msg']} (got {problem.get('input')!r})")
    return "; ".join(out)


def validate_parameters(rule_id: str, check: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's parameters checked against its check's model; a :class:`RuleError` naming the rule,
    the check and each bad key otherwise."""
    model = PARAMETERS[check]
    try:
        return model.model_validate(dict(raw)).model_dump()
    except ValidationError as error:
        raise RuleError(f"rule {rule_id} (check {check}): {_problems(error)}; it takes "
                        f"{sorted(model.model_fields) or 'no parameters'}") from None


@dataclass(frozen=True)
class AppliesTo:
    """Which cells a rule looks at. ``None`` means "all"."""

    units: tuple[str, ...] | None = None
    genders: tuple[str, ...] | None = None
    kpis: tuple[str, ...] | None = None
    exclude_kpis: tuple[str, ...] = ()
    #: read_from_source / external_survey / municipality_reported: how a figure is collected decides
    #: what is plausible (a survey's total also counts respondents who did not state their sex)
    collection_methods: tuple[str, ...] | None = None

    def mask(self, frame) -> Any:
        """Boolean mask over a frame with ``unit``, ``gender``, ``kpi_id`` and ``collection_method`` columns."""
        import pandas as pd

        ok = pd.Series(True, index=frame.index)
        if self.units is not None:
            ok &= frame["unit"].isin(self.units)
        if self.genders is not None:
            ok &= frame["gender"].isin(self.genders)
        if self.kpis is not None:
            ok &= frame["kpi_id"].isin(self.kpis)
        if self.exclude_kpis:
            ok &= ~frame["kpi_id"].isin(self.exclude_kpis)
        if self.collection_methods is not None:
            ok &= frame["collection_method"].isin(self.collection_methods)
        return ok


@dataclass(frozen=True)
class Rule:
    """One row of the rule table."""

    id: str
    check: str
    description: str
    severity: str
    message: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    enabled: bool = True

    def param(self, name: str) -> Any:
        """A parameter as validated on load (:mod:`pipelines.quality.parameters`: every one is required)."""
        if name not in self.parameters:
            raise RuleError(f"rule {self.id}: check {self.check} has no parameter {name!r}")
        return self.parameters[name]

    def with_parameters(self, **changes: Any) -> Rule:
        """A copy with some parameters changed, validated like the file (tuning without editing it)."""
        return replace(self, parameters=validate_parameters(self.id, self.check, {**self.parameters, **changes}))


@dataclass(frozen=True)
class RuleSet:
    """The loaded rule table, in file order."""

    rules: tuple[Rule, ...]
    #: Parameters shared by several rules (e.g. ``additive_kpis``, ``statuses``).
    parameters: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""
    language: str = "en"
    source: str = ""

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def __contains__(self, rule_id: object) -> bool:
        return any(rule.id == rule_id for rule in self.rules)

    @property
    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]

    def enabled(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]

    def only(self, *rule_ids: str) -> RuleSet:
        """The same table with only the named rules enabled (for tests and the benchmark)."""
        unknown = set(rule_ids) - set(self.ids)
        if unknown:
            raise KeyError(f"unknown rule ids: {sorted(unknown)}")
        return replace(self, rules=tuple(replace(r, enabled=r.id in rule_ids) for r in self.rules))

    def with_parameters(self, rule_id: str, **changes: Any) -> RuleSet:
        """A copy with some parameters of one rule changed (tuning without editing the file)."""
        if rule_id not in self:
            raise KeyError(rule_id)
        return replace(
            self,
            rules=tuple(r.with_parameters(**changes) if r.id == rule_id else r for r in self.rules),
        )

    def with_shared(self, **changes: Any) -> RuleSet:
        """A copy with some shared parameters changed."""
        return replace(self, parameters={**self.parameters, **changes})

    def with_enabled(self, rule_id: str, enabled: bool) -> RuleSet:
        if rule_id not in self:
            raise KeyError(rule_id)
        return replace(self, rules=tuple(replace(r, enabled=enabled) if r.id == rule_id else r for r in self.rules))


def _tuple_or_none(value: Any, rule_id: str, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise RuleError(f"rule {rule_id}: applies_to.{key} must be a list, got {value!r}")
    return tuple(str(v) for v in value)


def _parse_rule(raw: Mapping[str, Any], known_checks: set[str] | None) -> Rule:
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise RuleError(f"every rule needs an id: {raw!r}")
    rule_id = str(raw["id"])
    extra = set(raw) - _RULE_KEYS
    if extra:
        raise RuleError(f"rule {rule_id}: unknown keys {sorted(extra)}")
    for key in ("description", "severity", "message"):
        if not raw.get(key):
            raise RuleError(f"rule {rule_id}: '{key}' is required")
    severity = str(raw["severity"])
    if severity not in SEVERITIES:
        raise RuleError(f"rule {rule_id}: severity must be one of {SEVERITIES}, got {severity!r}")
    message = str(raw["message"])
    try:
        list(string.Formatter().parse(message))
    except ValueError as exc:
        raise RuleError(f"rule {rule_id}: message template does not parse: {exc}") from exc
    check = str(raw.get("check") or rule_id)
    if known_checks is not None and check not in known_checks:
        raise RuleError(f"rule {rule_id}: no check named {check!r} (known: {sorted(known_checks)})")
    applies = raw.get("applies_to") or {}
    if not isinstance(applies, Mapping):
        raise RuleError(f"rule {rule_id}: applies_to must be a mapping")
    extra = set(applies) - _APPLIES_KEYS
    if extra:
        raise RuleError(f"rule {rule_id}: unknown applies_to keys {sorted(extra)}")
    units = _tuple_or_none(applies.get("units"), rule_id, "units")
    if units and set(units) - set(UNITS):
        raise RuleError(f"rule {rule_id}: unknown units {sorted(set(units) - set(UNITS))}")
    genders = _tuple_or_none(applies.get("genders"), rule_id, "genders")
    if genders and set(genders) - set(GENDERS):
        raise RuleError(f"rule {rule_id}: unknown genders {sorted(set(genders) - set(GENDERS))}")
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise RuleError(f"rule {rule_id}: parameters must be a mapping")
    parameters = validate_parameters(rule_id, check, parameters)
    transform = parameters.get("transform") or {}
    if set(transform) - set(UNITS):
        raise RuleError(f"rule {rule_id}: parameter 'transform' names unknown units {sorted(set(transform) - set(UNITS))}")
    return Rule(
        id=rule_id,
        check=check,
        description=" ".join(str(raw["description"]).split()),
        severity=severity,
        message=" ".join(message.split()),
        parameters=dict(parameters),
        applies_to=AppliesTo(
            units=units,
            genders=genders,
            kpis=_tuple_or_none(applies.get("kpis"), rule_id, "kpis"),
            exclude_kpis=_tuple_or_none(applies.get("exclude_kpis"), rule_id, "exclude_kpis") or (),
            collection_methods=_tuple_or_none(applies.get("collection_methods"), rule_id, "collection_methods"),
        ),
        enabled=bool(raw.get("enabled", True)),
    )


def parse_rules(document: Mapping[str, Any], *, source: str = "") -> RuleSet:
    """Build a :class:`RuleSet` from the parsed YAML/JSON document (``{version, rules: [...]}``)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{source or 'rule document'}: expected a mapping with a 'rules' list")
    rules = tuple(_parse_rule(raw, set(PARAMETERS)) for raw in document["rules"])
    ids = [rule.id for rule in rules]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise RuleError(f"{source or 'rule document'}: duplicated rule ids {duplicated}")
    shared = document.get("parameters") or {}
    if not isinstance(shared, Mapping):
        raise RuleError(f"{source or 'rule document'}: top-level 'parameters' must be a mapping")
    try:
        shared = Shared.model_validate(dict(shared)).model_dump()
    except ValidationError as error:
        raise RuleError(f"{source or 'rule document'}, shared parameters: {_problems(error)}") from None
    return RuleSet(
        rules=rules,
        parameters=dict(shared),
        version=str(document.get("version", "")),
        language=str(document.get("language", "en")),
        source=source,
    )


def load_rules(path: str | Path = DEFAULT_RULES_PATH) -> RuleSet:
    """Read the rule table (YAML, or JSON which YAML also reads) and validate it.

    Validation is strict on purpose: a typo in a severity, a unit or a check name would otherwise silently
    switch a check off.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return parse_rules(document, source=str(path))
