-- The input rows the watch cannot take as they are, one row per problem as a reviewer fixes it: a repeated
-- key (per key), a KPI id no KPI table knows (per id and year), a municipality code no municipality table
-- knows (per code and year), a gender other than T/K/M (per id, year and code), a year after
-- var('watch_year_limit') (per id and year; none unless set). The cells the rules read (watch_number: one
-- row per key, known codes only) would drop or double such rows silently, so the integrity rules
-- (pipelines/quality/integrity.py) flag each problem. Every input row is read: a values file's history too
-- (a repeated key there would pick one of two histories); the audit mart holds none of these by its
-- contract and tests, so over it the list is empty unless something upstream broke.
with input_rows as (
    select * from {{ ref('watch_value') }}
),

known_kpis as (
    select kpi_id from {{ ref('watch_kpi') }} where kpi_id is not null
),

known_municipalities as (
    select municipality_id from {{ ref('watch_municipality') }} where municipality_id is not null
),

repeated_keys as (
    select
        'duplicate' as problem,
        kpi_id,
        municipality_id,
        year,
        gender,
        count(*) as row_count,
        list(file_row order by file_row) filter (where file_row is not null) as file_rows,
        list(value order by input_row) as row_values,
        count(distinct coalesce(cast(value as varchar), 'no value')) as distinct_values,
        cast(null as varchar[]) as listed
    from input_rows
    group by kpi_id, municipality_id, year, gender
    having count(*) > 1
),

unknown_kpis as (
    select
        'unknown_kpi' as problem,
        kpi_id,
        cast(null as varchar) as municipality_id,
        year,
        cast(null as varchar) as gender,
        count(*) as row_count,
        list(file_row order by file_row) filter (where file_row is not null) as file_rows,
        cast(null as double[]) as row_values,
        cast(null as bigint) as distinct_values,
        list_sort(list_distinct(list(municipality_id)))[1:5] as listed
    from input_rows
    where kpi_id is null or kpi_id not in (select kpi_id from known_kpis)
    group by kpi_id, year
),

unknown_municipalities as (
    select
        'unknown_municipality' as problem,
        cast(null as varchar) as kpi_id,
        coalesce(municipality_id, '(empty)') as municipality_id,
        year,
        cast(null as varchar) as gender,
        count(*) as row_count,
        list(file_row order by file_row) filter (where file_row is not null) as file_rows,
        cast(null as double[]) as row_values,
        cast(null as bigint) as distinct_values,
        list_sort(list_distinct(list(kpi_id)))[1:5] as listed
    from input_rows
    where municipality_id is null or municipality_id not in (select municipality_id from known_municipalities)
    group by coalesce(municipality_id, '(empty)'), year
),

invalid_genders as (
    select
        'invalid_gender' as problem,
        kpi_id,
        cast(null as varchar) as municipality_id,
        year,
        coalesce(gender, '(empty)') as gender,
        count(*) as row_count,
        list(file_row order by file_row) filter (where file_row is not null) as file_rows,
        cast(null as double[]) as row_values,
        cast(null as bigint) as distinct_values,
        list_sort(list_distinct(list(municipality_id)))[1:5] as listed
    from input_rows
    where gender is null or gender not in ('T', 'K', 'M')
    group by kpi_id, year, coalesce(gender, '(empty)')
),

future_years as (
    select
        'future_year' as problem,
        kpi_id,
        cast(null as varchar) as municipality_id,
        year,
        cast(null as varchar) as gender,
        count(*) as row_count,
        list(file_row order by file_row) filter (where file_row is not null) as file_rows,
        cast(null as double[]) as row_values,
        cast(null as bigint) as distinct_values,
        cast(null as varchar[]) as listed
    from input_rows
    {%- if var('watch_year_limit', none) is not none %}
    where year > {{ var('watch_year_limit') | int }}
    {%- else %}
    where false
    {%- endif %}
    group by kpi_id, year
),

problems as (
    select * from repeated_keys
    union all
    select * from unknown_kpis
    union all
    select * from unknown_municipalities
    union all
    select * from invalid_genders
    union all
    select * from future_years
)

select * from problems
order by problem, kpi_id nulls last, municipality_id nulls last, year nulls last, gender nulls last
