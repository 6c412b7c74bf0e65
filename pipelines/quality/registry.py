"""The checks a rule may name (``check:`` in the rule table), one function per check, by rule group.

A check is ``f(ctx: WatchContext, rule: Rule) -> hits DataFrame`` (see :func:`pipelines.quality.flags.make_hits`).
"""

from __future__ import annotations

from pipelines.quality import definition, gender, identical, integrity, missing, outlier, year_over_year
from pipelines.quality import range as range_rules

CHECKS = {
    "range.share_bounds": range_rules.share_bounds,
    "range.share_scale": range_rules.share_scale,
    "range.negative": range_rules.negative,
    "range.magnitude_slip": range_rules.magnitude_slip,
    "gender.total_between": gender.total_between,
    "gender.total_sum": gender.total_sum,
    "gender.swapped": gender.swapped,
    "gender.weights_moved": gender.weights_moved,
    "year_over_year.hb": year_over_year.hidiroglou_berthelot,
    "identical.unchanged": identical.unchanged,
    "outlier.national": outlier.national,
    "outlier.similar": outlier.similar,
    "missing.value": missing.value,
    "missing.status": missing.status,
    "definition.metadata_changed": definition.metadata_changed,
    "definition.source_mismatch": definition.source_mismatch,
    "integrity.duplicate": integrity.duplicate,
    "integrity.unknown_kpi": integrity.unknown_kpi,
    "integrity.unknown_municipality": integrity.unknown_municipality,
    "integrity.future_year": integrity.future_year,
    "integrity.invalid_gender": integrity.invalid_gender,
}
