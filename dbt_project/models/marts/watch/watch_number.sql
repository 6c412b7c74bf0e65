-- The numbers the watch compares a checked cell with, one row per figure x municipality x year: the
-- value for the total (T), for women (K) and for men (M), in the checked years and the earlier periods
-- of watch_kpi_history only (the rest of the history is never read). The first record where a key
-- repeats, known figures and municipalities only (as watch_cell).
with needed as (
    select distinct kpi_id, year from {{ ref('watch_value') }} where {{ watch_years_filter('year') }}
    union
    select distinct kpi_id, hist_year as year from {{ ref('watch_kpi_history') }}
),

values as (
    select values.kpi_id, values.municipality_id, values.year, values.gender, values.value
    from {{ ref('watch_value') }} as values
    semi join needed on values.kpi_id = needed.kpi_id and values.year = needed.year
    where values.gender in ('T', 'K', 'M')
        and values.municipality_id in (select municipality_id from {{ ref('watch_municipality') }})
    qualify row_number() over (
        partition by values.kpi_id, values.municipality_id, values.year, values.gender order by values.input_row
    ) = 1
)

select
    kpi_id,
    municipality_id,
    year,
    max(value) filter (where gender = 'T') as value_t,
    max(value) filter (where gender = 'K') as value_k,
    max(value) filter (where gender = 'M') as value_m
from values
where value is not null
group by kpi_id, municipality_id, year
