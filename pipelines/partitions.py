"""Year partitions: a partition is the period a value refers to (Kolada's ``period``)."""

from __future__ import annotations

from dagster import AssetExecutionContext, BackfillPolicy, TimeWindowPartitionsDefinition

#: Kolada's first period: its values start in 1994 (values.parquet: 1994–2022), so a backfill can take them all.
FIRST_YEAR = "1994"

yearly_partitions = TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1 *", start=FIRST_YEAR, fmt="%Y")

#: A range of years runs as one run: one Kolada query for all years, one dbt build.
single_run = BackfillPolicy.single_run()


def years_of(context: AssetExecutionContext) -> list[int]:
    """The years of the partition key range this run materialises."""
    key_range = context.partition_key_range
    return list(range(int(key_range.start), int(key_range.end) + 1))
