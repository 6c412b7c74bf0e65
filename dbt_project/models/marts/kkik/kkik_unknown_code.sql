-- Values that name a municipality or a key figure the warehouse does not know, from every source: the
-- joins of the mart would drop them silently, so they are listed here and block publication (the audit
-- turns each row into an error flag) until the code is corrected at the source or the flag accepted.
-- One row per source × code × year, with how many values carry it.
with kolada_values as (
    select * from {{ ref('stg_kolada__kpi_values') }}
    where not is_deleted
),

kolada_municipalities as (
    select municipality_id from {{ ref('stg_kolada__municipalities') }}
    where is_latest_load
),

kolada_kpis as (
    select kpi_id from {{ ref('stg_kolada__kpis') }}
    where is_latest_load
),

catalogue_kpis as (
    select kpi_id from {{ ref('int_kpis_all') }}
),

known_kpis as (
    select kpi_id from kolada_kpis
    union
    select kpi_id from catalogue_kpis
),

scb_population as (
    select region_code as municipality_id, year from {{ ref('stg_scb__population') }}
    where region_level = 'kommun'
),

skolverket_results as (
    select municipality_id, year from {{ ref('stg_skolverket__school_results') }}
),

-- the inbox quarantines a row whose code is not in Kolada's list when it lands; it counts while its file
-- is the current version of its name for the row's year
current_inbox_quarantine as (
    select * from {{ ref('int_inbox_quarantine_current') }}
),

quarantined_survey_codes as (
    select
        file_name,
        row_number,
        value as municipality_id,
        year
    from current_inbox_quarantine
    where reason_code = 'unknown_municipality'
),

unknown_kolada_municipality as (
    select
        'kolada' as source,
        'municipality' as code_kind,
        municipality_id as code,
        year,
        count(*) as value_count,
        cast(null as varchar) as origin
    from kolada_values
    where municipality_id not in (select municipality_id from kolada_municipalities)
    group by all
),

unknown_kolada_kpi as (
    select
        'kolada' as source,
        'kpi' as code_kind,
        kpi_id as code,
        year,
        count(*) as value_count,
        cast(null as varchar) as origin
    from kolada_values
    where kpi_id not in (select kpi_id from known_kpis)
    group by all
),

unknown_scb_municipality as (
    select
        'scb' as source,
        'municipality' as code_kind,
        municipality_id as code,
        year,
        count(*) as value_count,
        cast(null as varchar) as origin
    from scb_population
    where municipality_id not in (select municipality_id from kolada_municipalities)
    group by all
),

unknown_skolverket_municipality as (
    select
        'skolverket' as source,
        'municipality' as code_kind,
        municipality_id as code,
        year,
        count(*) as value_count,
        cast(null as varchar) as origin
    from skolverket_results
    where municipality_id not in (select municipality_id from kolada_municipalities)
    group by all
),

unknown_survey_municipality as (
    select
        'inbox' as source,
        'municipality' as code_kind,
        municipality_id as code,
        year,
        count(*) as value_count,
        -- the file and rows a reviewer corrects (raw.inbox_quarantine has every row)
        string_agg(file_name || ' row ' || row_number, ', ' order by file_name, row_number) as origin
    from quarantined_survey_codes
    group by source, code_kind, code, year
),

unioned as (
    select * from unknown_kolada_municipality
    union all
    select * from unknown_kolada_kpi
    union all
    select * from unknown_scb_municipality
    union all
    select * from unknown_skolverket_municipality
    union all
    select * from unknown_survey_municipality
),

final as (
    select
        source,
        code_kind,
        code,
        cast(year as integer) as year,
        value_count,
        origin
    from unioned
)

select * from final
