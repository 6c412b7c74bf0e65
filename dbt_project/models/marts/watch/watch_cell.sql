-- Every cell the watch looks at, with what its rules compare: one row per key (kpi, municipality,
-- year, gender; the first record where a key repeats: the integrity rules report the repeats), known
-- figures and municipalities only, with the figure's and the municipality's attributes, the figure's
-- previous period (watch_kpi_period) and the cell's value then, and the values for women (K) and men
-- (M) beside each cell, now and in the previous period.
with values as (
    select *
    from {{ ref('watch_value') }}
    where gender in ('T', 'K', 'M')
        and year is not null
        and kpi_id in (select kpi_id from {{ ref('watch_kpi') }})
        and municipality_id in (select municipality_id from {{ ref('watch_municipality') }})
    qualify row_number() over (partition by kpi_id, municipality_id, year, gender order by input_row) = 1
),

numbers as (
    select kpi_id, municipality_id, year, gender, value
    from values
    where value is not null
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
    previous.value as prev_value,
    women.value as value_k,
    men.value as value_m,
    women_before.value as prev_value_k,
    men_before.value as prev_value_m
from cells
left join numbers as previous
    on cells.kpi_id = previous.kpi_id and cells.municipality_id = previous.municipality_id
    and cells.prev_year = previous.year and cells.gender = previous.gender
left join numbers as women
    on cells.kpi_id = women.kpi_id and cells.municipality_id = women.municipality_id
    and cells.year = women.year and women.gender = 'K'
left join numbers as men
    on cells.kpi_id = men.kpi_id and cells.municipality_id = men.municipality_id
    and cells.year = men.year and men.gender = 'M'
left join numbers as women_before
    on cells.kpi_id = women_before.kpi_id and cells.municipality_id = women_before.municipality_id
    and cells.prev_year = women_before.year and women_before.gender = 'K'
left join numbers as men_before
    on cells.kpi_id = men_before.kpi_id and cells.municipality_id = men_before.municipality_id
    and cells.prev_year = men_before.year and men_before.gender = 'M'
