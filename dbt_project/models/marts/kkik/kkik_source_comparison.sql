-- Kolada's value of a KKiK key figure beside the agency's own figure for the same kommun, year and
-- gender, for every year where both publish the figure. A difference is not an error by itself: the
-- population columns say who each side counts, the usual reason for a gap.
with kolada as (
    select kpi_id, municipality_id, year, gender, value, status
    from {{ ref('fct_kpi_value') }}
),

agency as (
    select * from {{ ref('int_agency_kpi_values') }}
),

kommuner as (
    select municipality_id from {{ ref('dim_municipality') }} where is_kommun
),

years_in_both as (
    select distinct agency.kpi_id, agency.year
    from agency
    inner join kolada on agency.kpi_id = kolada.kpi_id and agency.year = kolada.year
),

compared as (
    select
        agency.kpi_id,
        agency.municipality_id,
        agency.year,
        agency.gender,
        kolada.value as kolada_value,
        agency.agency_value,
        kolada.value - agency.agency_value as difference,
        case
            when kolada.value is null or agency.agency_value is null then null
            else abs(kolada.value - agency.agency_value) <= agency.tolerance
        end as agrees,
        agency.agency,
        'Kolada: ' || agency.kolada_population || '; ' || agency.agency || ': ' || agency.agency_population
            as population_definition,
        agency.same_population as is_same_population,
        kolada.status as kolada_status,
        agency.agency_status
    from agency
    inner join years_in_both on agency.kpi_id = years_in_both.kpi_id and agency.year = years_in_both.year
    inner join kommuner on agency.municipality_id = kommuner.municipality_id
    left join kolada
        on agency.kpi_id = kolada.kpi_id
        and agency.municipality_id = kolada.municipality_id
        and agency.year = kolada.year
        and agency.gender = kolada.gender
)

select * from compared
