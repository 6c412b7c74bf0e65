-- How many kommuner have a value, per key figure × year × gender: the measure the publication gate
-- compares with the previous publication and with the figure's other years, so a load that lost a page,
-- a segment or a whole figure is refused before BI tools see it. Riket and regions are not counted.
with kpi_values as (
    select * from {{ ref('fct_kpi_value') }}
),

kommuner as (
    select municipality_id from {{ ref('dim_municipality') }}
    where is_kommun
),

counted as (
    select
        kpi_values.kpi_id,
        kpi_values.year,
        kpi_values.gender,
        count(*) filter (where kpi_values.value is not null) as kommuner_with_value,
        count(*) as kommun_rows,
        (select count(*) from kommuner) as kommuner_in_sweden
    from kpi_values
    inner join kommuner on kpi_values.municipality_id = kommuner.municipality_id
    group by kpi_values.kpi_id, kpi_values.year, kpi_values.gender
)

select * from counted
