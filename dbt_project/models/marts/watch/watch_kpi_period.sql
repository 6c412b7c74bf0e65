-- The previous period of each figure, the one definition (kkik_result's change column and every
-- year-over-year rule of the watch use it). Per figure, not year - 1: survey figures skip years (no
-- Socialstyrelsen survey in 2021) and the election figure moves every fourth year. The previous
-- period of figure k before year y is the latest earlier year in which any kommun has a value of k,
-- at most 4 years back (older than that is not "last time" any more).
with periods as (
    select distinct values.kpi_id, values.year
    from {{ ref('watch_value') }} as values
    inner join {{ ref('watch_municipality') }} as municipalities
        on values.municipality_id = municipalities.municipality_id
    where municipalities.is_kommun and values.value is not null
)

select
    kpi_id,
    year,
    case
        when year - lag(year) over (partition by kpi_id order by year) <= 4
            then lag(year) over (partition by kpi_id order by year)
    end as previous_year
from periods
