"""Which tables readers get, in which row order, and which columns stay out because they change every run.

The data tables' content must depend on the input only, so that two loads of the same input publish the
same bytes. What differs by nature between two runs (the publishing run's load id and time, when a flag
was raised) lives in ``kkik_publication`` and ``publication.json``, never in a data table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedTable:
    """A table of the readers' copy: its key (the row order) and the warehouse columns left out."""

    name: str
    key: tuple[str, ...]
    #: columns of the warehouse's ``kkik`` table that are per-run by nature (kept apart, see module doc)
    per_run_columns: tuple[str, ...] = ()
    #: True: copied from ``kkik_audit`` at each publication; False: kept in ``kkik`` across publications and
    #: appended to by the publish step itself (``kkik_revision``)
    from_audit: bool = True
    #: True: a dbt model of the audit mart (what the watch audits); False: written by the pipeline itself
    #: (``kkik_flag`` by the watch, ``kkik_revision`` by the publish step)
    from_dbt: bool = True


#: The published data tables (the audit-built ones in the order of ``pipelines.quality.publish.MART_TABLES``).
#: ``fct_kpi_value.load_id`` and ``fct_population.load_id`` are kept: they name the RAW landing that
#: brought the value, not the publishing run. ``kkik_flag`` has no unique key: its rows are ordered by
#: rank and then by every other column, which is a total order of its content.
PUBLISHED_TABLES = (
    PublishedTable("dim_kpi", ("kpi_id",)),
    PublishedTable("dim_municipality", ("municipality_id",)),
    PublishedTable("fct_kpi_value", ("kpi_id", "municipality_id", "year", "gender")),
    PublishedTable("fct_population", ("municipality_id", "year", "gender")),
    PublishedTable("kkik_result", ("kpi_id", "municipality_id", "year", "gender")),
    PublishedTable("kkik_source_comparison", ("kpi_id", "municipality_id", "year", "gender")),
    PublishedTable("kkik_coverage", ("kpi_id", "year", "gender")),
    PublishedTable("kkik_flag", ("flag_rank", "kpi_id", "municipality_id", "year", "gender", "rule_id"),
                   per_run_columns=("load_id", "flagged_at"), from_dbt=False),
    # its load ids and times are its content (the history of changes), not per-run columns
    PublishedTable("kkik_revision", ("changed_at", "kpi_id", "municipality_id", "year", "gender"), from_audit=False,
                   from_dbt=False),
)
#: The dbt models of the audit mart the watch audits (the kkik_flag asset's dependencies): every published
#: table dbt builds, and the gate's lists of codes no dimension knows and of quarantined inbox rows (read by
#: the audit, not published).
AUDITED_MODELS = tuple(table.name for table in PUBLISHED_TABLES if table.from_dbt) + ("kkik_unknown_code",
                                                                                      "kkik_inbox_quarantine")

#: The one table of the run's own facts: which load published, when, and how many rows each table has.
PUBLICATION_TABLE = "kkik_publication"
PUBLICATION_COLUMNS = {"load_id": "varchar not null", "published_at": "timestamptz not null",
                       "table_name": "varchar not null", "row_count": "bigint not null"}
PUBLICATION_DESCRIPTIONS = {
    "": "The publication readers see: one row per published table, with the load that published it, when, "
        "and the table's row count. The only table whose content changes when an unchanged input is "
        "loaded again.",
    "load_id": "The Dagster run that published this mart (compare with publication.json).",
    "published_at": "When the audited mart was published (UTC).",
    "table_name": "A published table of schema kkik.",
    "row_count": "Its number of rows in this publication.",
}

#: ``kkik_flag`` is written by the Python watch, not by dbt: its descriptions are kept here.
FLAG_DESCRIPTIONS = {
    "": "The error watch of the published mart: every likely data error, ranked by impact (1 = look at it "
        "first). Errors block publication until a reviewer accepts them (accepted_by, acceptance_reason); "
        "warnings are for review. Rules: expectations/rules.yml; GX suites: expectations/gx_suites/.",
    "flag_rank": "Rank by impact_score, 1 = most important.",
    "kpi_id": "Key figure (null for a flag on a whole source).",
    "municipality_id": "Kommun, Riket or region (null for a flag on a whole key figure).",
    "year": "Period of the flagged value.",
    "gender": "T, K or M.",
    "rule_id": "The rule that raised the flag (group.rule, e.g. range.share_bounds; gx.… for GX findings).",
    "severity": "error (blocks publication unless accepted) or warning.",
    "observed_value": "The value as published by the source.",
    "expected_low": "Lower bound of what the rule expected.",
    "expected_high": "Upper bound of what the rule expected.",
    "expected_value": "The value the rule expected, where it has one.",
    "message": "What is wrong, for a reviewer.",
    "source": "Where the value came from.",
    "contact": "Who can confirm or correct the value.",
    "impact_score": "10·(would change the colour) + 3·(error) + deviation in robust units (0–3).",
    "would_change_colour": "Replacing the value by the expected one would change the kommun's colour.",
    "accepted": "A reviewer accepted the flag (expectations/accepted_flags.csv).",
    "accepted_by": "Who accepted it.",
    "acceptance_reason": "Why the flagged value is right or may be published.",
    "accepted_on": "When it was accepted.",
    "rule_group": "The rule's group (range, gender, year_over_year, …, great_expectations).",
    "is_kkik": "The figure is in the KKiK set: an open error on it blocks publication (others are listed only).",
    "is_synthetic": "The flagged value is synthetic (generated for the offline snapshot, not published by Kolada).",
}

#: ``kkik_revision`` is written by the publish step (pipelines/publishing/revision.py), not by dbt.
REVISION_DESCRIPTIONS = {
    "": "What changed between publications: one row per kkik_result cell whose value (null-aware) or colour "
        "differs from the publication it replaced, appended at each publication and kept across loads. A cell "
        "without a row counts as grey. The first publication adds no rows (nothing to compare with).",
    "kpi_id": "Key figure.",
    "municipality_id": "Kommun.",
    "year": "Period of the value.",
    "gender": "T, K or M.",
    "value_before": "The value in the replaced publication (null: none, or no row).",
    "value_after": "The value in this publication (null: none any more, or no row).",
    "colour_before": "The colour in the replaced publication (null: no row).",
    "colour_after": "The colour in this publication (null: no row).",
    "load_id_before": "The load that published the replaced value (null when not recorded).",
    "load_id_after": "The load that published the new value (as kkik_publication.load_id).",
    "changed_at": "When the new value was published (UTC).",
}
