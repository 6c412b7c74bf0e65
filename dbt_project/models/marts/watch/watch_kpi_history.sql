-- The earlier periods of each figure before each checked year, most recent first: lag 1 is the previous
-- period, lag 2 the one before it, ... up to watch_history_periods() + 1 (the identical rule compares the
-- oldest period it looks at with the one before). The chain follows watch_kpi_period (the one definition
-- of "previous period"); a checked year in which no kommun has a value yet (a figure not yet published)
-- starts from the latest period before it, at most 4 years back.
with recursive periods as (
    select * from {{ ref('watch_kpi_period') }}
),

checked as (
    select distinct kpi_id, year
    from {{ ref('watch_value') }}
    where kpi_id in (select kpi_id from {{ ref('watch_kpi') }}) and {{ watch_years_filter('year') }}
),

starts as (
    select
        checked.kpi_id,
        checked.year,
        coalesce(
            max(periods.previous_year) filter (where periods.year = checked.year),
            case
                when count(*) filter (where periods.year = checked.year) = 0
                    and checked.year - max(periods.year) filter (where periods.year < checked.year) <= 4
                    then max(periods.year) filter (where periods.year < checked.year)
            end
        ) as hist_year
    from checked
    left join periods on checked.kpi_id = periods.kpi_id and periods.year <= checked.year
    group by checked.kpi_id, checked.year
),

chain as (
    select kpi_id, year, 1 as lag, hist_year
    from starts
    where hist_year is not null
    union all
    select chain.kpi_id, chain.year, chain.lag + 1 as lag, periods.previous_year as hist_year
    from chain
    inner join periods on chain.kpi_id = periods.kpi_id and chain.hist_year = periods.year
    where periods.previous_year is not null and chain.lag <= {{ watch_history_periods() }}
)

select kpi_id, year, lag, hist_year from chain
