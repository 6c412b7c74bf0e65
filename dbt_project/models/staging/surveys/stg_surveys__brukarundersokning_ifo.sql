-- One row per landed row: a kommun's share of positive answers to one question, by gender. The question
-- is matched to a Kolada KPI in int_survey_kpi_values (seed survey_kpi_map) on area_key and measure_key.
with source as (
    select * from {{ source('surveys', 'inbox__brukarundersokning_ifo') }}
),

renamed as (
    select
        'brukarundersokning_ifo' as source,
        municipality_id,
        municipality_name,
        year,
        gender,
        area,
        question as measure,
        {{ text_key('area') }} as area_key,
        {{ text_key('question') }} as measure_key,
        share as value,
        share_status as status,
        respondents,
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
