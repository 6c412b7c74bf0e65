-- The values of every figure (the KKiK key figures and any other Kolada figure landed) from every source, conformed: deleted values dropped, codes
-- checked against the municipality list, the KKiK report year derived (see int_kpis_all).
-- Precedence: Kolada's published value wins; a survey or own-reporting file fills only what Kolada does
-- not have (a figure-year not yet published there, or a figure Kolada does not carry). A file that
-- disagrees with Kolada is the error watch's business, not a silent overwrite.
with kolada_values as (
    select
        kpi_id,
        municipality_id,
        year,
        gender,
        value,
        nullif(status, '') as status,
        'kolada' as source,
        load_id,
        is_synthetic
    from {{ ref('stg_kolada__kpi_values') }}
    where not is_deleted
),

survey_values as (
    select * from {{ ref('int_survey_kpi_values') }}
),

survey_values_not_in_kolada as (
    select survey_values.*
    from survey_values
    anti join kolada_values
        on survey_values.kpi_id = kolada_values.kpi_id
        and survey_values.municipality_id = kolada_values.municipality_id
        and survey_values.year = kolada_values.year
        and survey_values.gender = kolada_values.gender
),

all_values as (
    select * from kolada_values
    union all by name
    select * from survey_values_not_in_kolada
),

-- a figure neither in the catalogue nor in Kolada's metadata is dropped here (kkik_unknown_code lists it)
kkik_kpis as (
    select kpi_id, kkik_year_offset from {{ ref('int_kpis_all') }}
),

municipalities as (
    select municipality_id from {{ ref('int_municipalities_classified') }}
),

conformed as (
    select
        all_values.kpi_id,
        all_values.municipality_id,
        all_values.year,
        all_values.gender,
        all_values.value,
        all_values.status,
        all_values.source,
        all_values.load_id,
        all_values.is_synthetic,
        all_values.year + kkik_kpis.kkik_year_offset as kkik_year
    from all_values
    inner join kkik_kpis on all_values.kpi_id = kkik_kpis.kpi_id
    inner join municipalities on all_values.municipality_id = municipalities.municipality_id
)

select * from conformed
