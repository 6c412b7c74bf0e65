with conformed as (
    select * from {{ ref('int_kpi_values_conformed') }}
),

final as (
    select
        kpi_id,
        municipality_id,
        year,
        gender,
        value,
        status,
        source,
        load_id,
        kkik_year,
        is_synthetic
    from conformed
)

select * from final
