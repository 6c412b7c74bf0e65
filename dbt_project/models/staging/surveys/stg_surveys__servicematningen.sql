-- One row per landed row × measure: the wide Servicemätningen table unpivoted, so every survey file type
-- stages to the same long shape (measure = the raw column name, as in the seed survey_kpi_map).
-- Servicemätningen is not divided by gender (T).
with source as (
    select * from {{ source('surveys', 'inbox__servicematningen') }}
),

unpivoted as (
    select
        *,
        unnest([
            {'measure': 'telefon_bemotande_index', 'value': telefon_bemotande_index, 'status': telefon_bemotande_index_status},
            {'measure': 'telefon_enkelhet_index', 'value': telefon_enkelhet_index, 'status': telefon_enkelhet_index_status},
            {'measure': 'epost_tydlighet_index', 'value': epost_tydlighet_index, 'status': epost_tydlighet_index_status},
            {'measure': 'epost_enkelhet_index', 'value': epost_enkelhet_index, 'status': epost_enkelhet_index_status},
            {'measure': 'telefon_antal_svar', 'value': cast(telefon_antal_svar as double), 'status': telefon_antal_svar_status},
            {'measure': 'epost_antal_svar', 'value': cast(epost_antal_svar as double), 'status': epost_antal_svar_status},
            {'measure': 'epost_svar_inom_tva_dagar_andel', 'value': epost_svar_inom_tva_dagar_andel, 'status': epost_svar_inom_tva_dagar_andel_status},
            {'measure': 'telefon_enkel_fraga_svar_andel', 'value': telefon_enkel_fraga_svar_andel, 'status': telefon_enkel_fraga_svar_andel_status},
            {'measure': 'telefon_gott_bemotande_andel', 'value': telefon_gott_bemotande_andel, 'status': telefon_gott_bemotande_andel_status}
        ]) as m
    from source
),

renamed as (
    select
        'servicematningen' as source,
        municipality_id,
        municipality_name,
        year,
        'T' as gender,
        cast(null as varchar) as area,
        m.measure as measure,
        cast(null as varchar) as area_key,
        m.measure as measure_key,
        m.value as value,
        m.status as status,
        cast(case m.measure
            when 'telefon_bemotande_index' then telefon_antal_svar
            when 'telefon_enkelhet_index' then telefon_antal_svar
            when 'epost_tydlighet_index' then epost_antal_svar
            when 'epost_enkelhet_index' then epost_antal_svar
        end as bigint) as respondents,
        is_synthetic,
        load_id,
        file_sha256,
        file_name,
        sheet,
        row_number,
        landed_at
    from unpivoted
)

select * from renamed
