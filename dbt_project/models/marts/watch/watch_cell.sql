-- Every cell the watch checks (the checked years, var('watch_years')), with what its rules compare:
-- one row per key (kpi, municipality, year, gender; the first record where a key repeats: the integrity
-- rules report the repeats), known figures and municipalities only, with the figure's and the
-- municipality's attributes, the figure's previous period (watch_kpi_period) and the cell's value then,
-- the values for women (K) and men (M) beside each cell, now and in the previous period, and the cell's
-- history: its value (value_lag1 ...) and the women-men gap (gap_lag1 ...) in each of the figure's last
-- watch_history_periods() periods (watch_kpi_history). Python receives these columns ready-made.
-- The numbers of all those periods come in one join (each cell's periods as rows, then one row per
-- cell again), not in a join per period: over all of Kolada the joins probed in one pipeline held a hash
-- table of watch_number each, at once, and ran out of the watch's memory now and then.
{%- set depth = watch_history_periods() | int %}
{#- the periods a cell's numbers are found for, as named in `wanted` #}
{%- set slots = ['now', 'previous'] %}
{%- for lag in range(1, depth + 1) %}{% set _ = slots.append('lag' ~ lag) %}{% endfor %}
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
),

cell_periods as (
    select distinct kpi_id, municipality_id, year, prev_year
    from cells
),

wanted as (
    select kpi_id, municipality_id, year, 'now' as slot, year as at_year
    from cell_periods
    union all
    select kpi_id, municipality_id, year, 'previous' as slot, prev_year as at_year
    from cell_periods
    where prev_year is not null
    union all
    select
        cell_periods.kpi_id,
        cell_periods.municipality_id,
        cell_periods.year,
        'lag' || history.lag as slot,
        history.hist_year as at_year
    from cell_periods
    inner join history
        on cell_periods.kpi_id = history.kpi_id and cell_periods.year = history.year
    where history.lag <= {{ depth }}
),

found as (
    select
        wanted.kpi_id,
        wanted.municipality_id,
        wanted.year
        {%- for slot in slots %}
        {%- for gender in ['t', 'k', 'm'] %},
        max(numbers.value_{{ gender }}) filter (where wanted.slot = '{{ slot }}') as {{ slot }}_{{ gender }}
        {%- endfor %}
        {%- endfor %}
    from wanted
    inner join numbers
        on wanted.kpi_id = numbers.kpi_id and wanted.municipality_id = numbers.municipality_id
        and wanted.at_year = numbers.year
    group by wanted.kpi_id, wanted.municipality_id, wanted.year
)

select
    cells.*,
    case cells.gender when 'T' then found.previous_t when 'K' then found.previous_k else found.previous_m end
        as prev_value,
    found.now_k as value_k,
    found.now_m as value_m,
    found.previous_k as prev_value_k,
    found.previous_m as prev_value_m
    {%- for lag in range(1, depth + 1) %},
    case cells.gender when 'T' then found.lag{{ lag }}_t when 'K' then found.lag{{ lag }}_k
        else found.lag{{ lag }}_m end as value_lag{{ lag }},
    found.lag{{ lag }}_k - found.lag{{ lag }}_m as gap_lag{{ lag }}
    {%- endfor %}
from cells
left join found
    on cells.kpi_id = found.kpi_id and cells.municipality_id = found.municipality_id and cells.year = found.year
