-- One row per landed row: a value a kommun reported for one of its own key figures (measure = the
-- KPI id as reported; the seed survey_kpi_map whitelists the ids), with numerator and denominator.
with source as (
    select * from {{ source('surveys', 'inbox__egen_rapportering') }}
),

renamed as (
    select
        'egen_rapportering' as source,
        municipality_id,
        municipality_name,
        year,
        gender,
        cast(null as varchar) as area,
        kpi_id as measure,
        cast(null as varchar) as area_key,
        lower(kpi_id) as measure_key,
        value,
        value_status as status,
        cast(null as bigint) as respondents,
        numerator,
        denominator,
        comment,
        is_synthetic,
        load_id,
        file_sha256,
        file_name,
        sheet,
        row_number,
        landed_at
    from source
)

select * from renamed
