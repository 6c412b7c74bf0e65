-- The agencies' own figures for the KKiK key figures that Kolada re-publishes, selected as the
-- mapping seed says (export, measure, huvudman), under the KKiK key figure's id.
with mapping as (
    select * from {{ ref('agency_kpi_map') }}
),

school_results as (
    select * from {{ ref('stg_skolverket__school_results') }}
),

employment_share as (
    select * from {{ ref('stg_scb__employment_share') }}
    where region_level = 'kommun'
),

skolverket_values as (
    select
        mapping.kpi_id,
        school_results.municipality_id,
        school_results.year,
        school_results.gender,
        school_results.value as agency_value,
        school_results.status as agency_status,
        mapping.agency,
        mapping.kolada_population,
        mapping.agency_population,
        mapping.tolerance,
        mapping.same_population
    from mapping
    inner join school_results
        on mapping.agency = 'skolverket'
        and mapping.export = school_results.export
        and mapping.measure = school_results.measure
        and mapping.huvudman = school_results.huvudman
),

scb_values as (
    select
        mapping.kpi_id,
        employment_share.region_code as municipality_id,
        employment_share.year,
        employment_share.gender,
        employment_share.employment_share as agency_value,
        employment_share.status as agency_status,
        mapping.agency,
        mapping.kolada_population,
        mapping.agency_population,
        mapping.tolerance,
        mapping.same_population
    from mapping
    inner join employment_share
        on mapping.agency = 'scb'
        and mapping.export = 'employment_share'
),

final as (
    select * from skolverket_values
    union all
    select * from scb_values
)

select * from final
