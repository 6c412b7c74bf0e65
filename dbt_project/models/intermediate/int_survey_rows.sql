-- Every landed survey and own-reporting row × measure, of every file type, in the one long shape of the
-- staging models (extra columns where a file type has them): what int_survey_kpi_values maps to KPIs
-- and int_inbox_file_years dates by file.
{{ config(materialized='ephemeral') }}

with servicematningen as (
    select * from {{ ref('stg_surveys__servicematningen') }}
),

insikt as (
    select * from {{ ref('stg_surveys__insikt') }}
),

brukarundersokning_ifo as (
    select * from {{ ref('stg_surveys__brukarundersokning_ifo') }}
),

brukarundersokning_funktionshinder as (
    select * from {{ ref('stg_surveys__brukarundersokning_funktionshinder') }}
),

egen_rapportering as (
    select * from {{ ref('stg_surveys__egen_rapportering') }}
),

unioned as (
    select * from servicematningen
    union all by name
    select * from insikt
    union all by name
    select * from brukarundersokning_ifo
    union all by name
    select * from brukarundersokning_funktionshinder
    union all by name
    select * from egen_rapportering
)

select * from unioned
