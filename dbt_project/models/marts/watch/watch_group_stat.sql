-- The distribution the watch compares a kommun with: per figure x year x gender, over the kommuner
-- with a value, the robust statistics (macro robust_stats) of each measure: the value, its log10 and
-- log(1 + value) (the outlier rules pick the scale per unit), and, on the rows for women, the change of
-- the women-men gap since the previous period (the K/M-swap rule asks how unusual a kommun's is).
with kommun_cells as (
    select *
    from {{ ref('watch_cell') }}
    where is_kommun and value is not null and {{ watch_years_filter('year') }}
),

measures as (
    unpivot (
        select
            kpi_id, year, gender,
            {{ watch_measures('value') }},
            case when gender = 'K' then (value - value_m) - (prev_value - prev_value_m) end as gap_change
        from kommun_cells
    )
    on value, log10, log1p, gap_change
    into name measure value x
)

select
    kpi_id,
    year,
    gender,
    measure,
    {{ robust_stats('x') }}
from measures
group by kpi_id, year, gender, measure
