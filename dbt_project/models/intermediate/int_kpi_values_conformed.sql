-- The values of the KKiK key figures, conformed: deleted values dropped, codes checked against the
-- municipality list, and the KKiK report year derived (see int_kkik_kpis_joined).
with kpi_values as (
    select * from {{ ref('stg_kolada__kpi_values') }}
    where not is_deleted
),

kkik_kpis as (
    select kpi_id, kkik_year_offset from {{ ref('int_kkik_kpis_joined') }}
),

municipalities as (
    select municipality_id from {{ ref('int_municipalities_classified') }}
),

conformed as (
    select
        kpi_values.kpi_id,
        kpi_values.municipality_id,
        kpi_values.year,
        kpi_values.gender,
        kpi_values.value,
        nullif(kpi_values.status, '') as status,
        'kolada' as source,
        kpi_values.load_id,
        kpi_values.is_synthetic,
        kpi_values.year + kkik_kpis.kkik_year_offset as kkik_year
    from kpi_values
    inner join kkik_kpis on kpi_values.kpi_id = kkik_kpis.kpi_id
    inner join municipalities on kpi_values.municipality_id = municipalities.municipality_id
)

select * from conformed
