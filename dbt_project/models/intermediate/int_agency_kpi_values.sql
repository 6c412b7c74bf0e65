-- The agencies' own figures for the KKiK key figures that Kolada re-publishes, selected as the
-- mapping seed says (export, measure, huvudman), under the KKiK key figure's id.
with mapping as (
    select * from {{ ref('agency_kpi_map') }}
),

school_results as (
    select * from {{ ref('stg_skolverket__school_results') }}
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
)

select * from skolverket_values
