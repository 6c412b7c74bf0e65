"""The parameters each check takes, as typed models: the rule table is checked against them on load.

One pydantic model per check (the ``check:`` of a rule in ``expectations/rules.yml``). Every field is
required and has no default here: the defaults live in the rules file only, so the value a check runs
with is always the one a reviewer can read there. Unknown keys are refused (``extra='forbid'``): a
misspelt ``c: 10.0`` in the HB rule would otherwise load silently and the check would run untuned.
Bounds are checked (a share between 0 and 1, a count of periods at least 1).

This module imports nothing from the watch, so the rule table (``rules.py``), the registry of check
functions (``registry.py``) and the rule modules can all import it without a cycle.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Periods = Annotated[int, Field(ge=1, le=20)]
Transform = Literal["none", "log", "log1p"]


class Parameters(BaseModel):
    """Base: unknown keys refused, values immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParameters(Parameters):
    pass


class ShareBounds(Parameters):
    low: float
    high: float
    tolerance: NonNegative


class ShareScale(Parameters):
    max_value: Positive
    min_reference: NonNegative
    min_ratio: Positive
    history_periods: Periods


class MagnitudeSlip(Parameters):
    orders: list[Annotated[int, Field(ge=1, le=6)]] = Field(min_length=1)
    tolerance: Annotated[float, Field(gt=0.0, lt=0.5)]
    history_periods: Periods
    #: 0 switches the guard off
    min_log_from_median: NonNegative
    max_log_from_median: NonNegative


class GenderTolerance(Parameters):
    abs_tolerance: NonNegative
    rel_tolerance: NonNegative


class GenderTotalSum(GenderTolerance):
    #: how much more typical (robust SDs of the log change) the blamed value's corrected change must be than
    #: the next one's for the flag to leave T
    blame_margin: NonNegative


class GenderTotalBetween(GenderTolerance):
    #: the women-men gap (relative to T) from which the flag reads last period's mix (gender.weights_moved)
    mix_min_gap_rel: NonNegative
    #: how much more typical (robust SDs of the log change) the blamed value's restored change must be than
    #: the next one's for the flag to leave T
    mix_blame_margin: NonNegative


class GenderSwapped(Parameters):
    history_periods: Periods
    min_history: Periods
    min_gap_rel: NonNegative
    min_gap_change_z: NonNegative
    fit_ratio: Positive


class GenderWeightsMoved(Parameters):
    k: Positive
    #: the least spread of the residual r, relative to T (0.01: one per cent of the total)
    min_scale: Positive
    min_gap_rel: NonNegative
    min_units: Annotated[int, Field(ge=3)]


class HidiroglouBerthelot(Parameters):
    U: Share
    A: NonNegative
    C: Positive
    min_units: Annotated[int, Field(ge=3)]
    min_group_size: Annotated[int, Field(ge=3)]


class Unchanged(Parameters):
    max_share_unchanged: Share
    history_periods: Periods
    ignore_bounds: bool


class OutlierNational(Parameters):
    method: Literal["mad", "quartile"]
    k: Positive
    min_units: Annotated[int, Field(ge=3)]
    transform: dict[str, Transform]


class OutlierSimilar(Parameters):
    method: Literal["mad", "quartile"]
    k: Positive
    min_peers: Annotated[int, Field(ge=2)]
    min_scale_share: NonNegative
    transform: dict[str, Transform]


class MissingValue(Parameters):
    others_share: Share
    min_published_share: Share


class MissingStatus(Parameters):
    #: status codes by meaning for this rule only; absent: the table's shared ``statuses``
    statuses: dict[str, list[str]] | None = None


class MetadataChanged(Parameters):
    fields: list[Literal["title", "description", "unit"]] = Field(min_length=1)


class SourceMismatch(Parameters):
    population: Literal["same", "different", "any"]
    abs_tolerance: NonNegative
    rel_tolerance: NonNegative
    #: 0: compare each gap with the tolerance; > 0: with mad_k scaled MADs of all kommuner's gaps
    mad_k: NonNegative


class FutureYear(Parameters):
    max_years_ahead: Annotated[int, Field(ge=0, le=5)]


class Shared(Parameters):
    """The table's top-level ``parameters``, read by several rules (absent: none are additive, no status
    codes are known)."""

    additive_kpis: list[str] = Field(default_factory=list)
    statuses: dict[str, list[str]] = Field(default_factory=dict)


#: check name → its parameter model; ``registry.CHECKS`` has a function for each of these names
PARAMETERS: dict[str, type[Parameters]] = {
    "range.share_bounds": ShareBounds,
    "range.share_scale": ShareScale,
    "range.negative": NoParameters,
    "range.magnitude_slip": MagnitudeSlip,
    "gender.total_between": GenderTotalBetween,
    "gender.total_sum": GenderTotalSum,
    "gender.swapped": GenderSwapped,
    "gender.weights_moved": GenderWeightsMoved,
    "year_over_year.hb": HidiroglouBerthelot,
    "identical.unchanged": Unchanged,
    "outlier.national": OutlierNational,
    "outlier.similar": OutlierSimilar,
    "missing.value": MissingValue,
    "missing.status": MissingStatus,
    "definition.metadata_changed": MetadataChanged,
    "definition.source_mismatch": SourceMismatch,
    "integrity.duplicate": NoParameters,
    "integrity.unknown_kpi": NoParameters,
    "integrity.unknown_municipality": NoParameters,
    "integrity.future_year": FutureYear,
    "integrity.invalid_gender": NoParameters,
}
