-- Every cell the watch checks (the checked years, var('watch_years')), with what its rules compare:
-- one row per key (kpi, municipality, year, gender; the first record where a key repeats: the integrity
-- rules report the repeats), known figures and municipalities only, with the figure's and the
-- municipality's attributes, the figure's previous period (watch_kpi_period) and the cell's value then,
-- the values for women (K) and men (M) beside each cell, now and in the previous period, and the cell's
-- history: its value (value_lag1 ...) and the women-men gap (gap_lag1 ...) in each of the figure's last
-- watch_history_periods() periods (watch_kpi_history). Python receives these columns ready-made.
{%- set depth = watch_history_periods() | int %}
with values as (
    select *
    from {{ ref('watch_value') }}
    where gender in ('T', 'K', 'M')
        and year is not null
        and {{ watch_years_filter('year') }}
        and kpi_id in (select kpi_id from {{ ref('watch_kpi') }})
        and municipality_id in (select municipality_id from {{ ref('watch_municipality') }})
    qualify row_number() over (partition by kpi_id, municipality_id, year, gender order by input_row) = 1
),

numbers as (
    select * from {{ ref('watch_number') }}
),

history as (
    select * from {{ ref('watch_kpi_history') }}
),

cells as (
    select
        values.kpi_id,
        values.municipality_id,
        values.year,
        values.gender,
        values.value,
        values.status,
        values.source,
        values.is_synthetic,
        kpis.unit,
        kpis.direction,
        kpis.collection_method,
        kpis.similar_group_kind,
        coalesce(municipalities.is_kommun, false) as is_kommun,
        coalesce(municipalities.is_participant, false) as is_participant,
        periods.previous_year as prev_year
    from values
    inner join {{ ref('watch_kpi') }} as kpis on values.kpi_id = kpis.kpi_id
    inner join {{ ref('watch_municipality') }} as municipalities
        on values.municipality_id = municipalities.municipality_id
    left join {{ ref('watch_kpi_period') }} as periods
        on values.kpi_id = periods.kpi_id and values.year = periods.year
)

select
    cells.*,
    case cells.gender when 'T' then previous.value_t when 'K' then previous.value_k else previous.value_m end
        as prev_value,
    now.value_k,
    now.value_m,
    previous.value_k as prev_value_k,
    previous.value_m as prev_value_m
    {%- for lag in range(1, depth + 1) %},
    case cells.gender when 'T' then lag{{ lag }}.value_t when 'K' then lag{{ lag }}.value_k
        else lag{{ lag }}.value_m end as value_lag{{ lag }},
    lag{{ lag }}.value_k - lag{{ lag }}.value_m as gap_lag{{ lag }}
    {%- endfor %}
from cells
left join numbers as now
    on cells.kpi_id = now.kpi_id and cells.municipality_id = now.municipality_id and cells.year = now.year
left join numbers as previous
    on cells.kpi_id = previous.kpi_id and cells.municipality_id = previous.municipality_id
    and cells.prev_year = previous.year
{%- for lag in range(1, depth + 1) %}
left join history as history{{ lag }}
    on cells.kpi_id = history{{ lag }}.kpi_id and cells.year = history{{ lag }}.year and history{{ lag }}.lag = {{ lag }}
left join numbers as lag{{ lag }}
    on cells.kpi_id = lag{{ lag }}.kpi_id and cells.municipality_id = lag{{ lag }}.municipality_id
    and history{{ lag }}.hist_year = lag{{ lag }}.year
{%- endfor %}
