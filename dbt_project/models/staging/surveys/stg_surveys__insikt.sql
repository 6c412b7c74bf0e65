-- One row per landed row × measure: NKI (with its number of answers) and the number of answers itself
-- (Kolada has the latter for NKI totalt only). Insikt is not divided by gender (T).
with source as (
    select * from {{ source('surveys', 'inbox__insikt') }}
),

measures as (
    select
        *,
        unnest([
            {'measure': 'nki', 'value': nki, 'status': nki_status},
            {'measure': 'antal svar', 'value': cast(respondents as double), 'status': respondents_status}
        ]) as m
    from source
),

renamed as (
    select
        'insikt' as source,
        municipality_id,
        municipality_name,
        year,
        'T' as gender,
        area,
        m.measure as measure,
        {{ text_key('area') }} as area_key,
        m.measure as measure_key,
        m.value as value,
        m.status as status,
        case when m.measure = 'nki' then respondents end as respondents,
        is_synthetic,
        load_id,
        file_sha256,
        file_name,
        sheet,
        row_number,
        landed_at
    from measures
)

select * from renamed
