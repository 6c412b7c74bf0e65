-- The KPI catalogue as of the latest Kolada load: one row per KPI.
with kpis as (
    select * from {{ ref('stg_kolada__kpis') }}
),

latest as (
    select * exclude (is_latest_load)
    from kpis
    where is_latest_load
    qualify row_number() over (partition by kpi_id order by fetched_at desc) = 1
)

select * from latest
