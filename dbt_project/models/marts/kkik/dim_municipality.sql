with municipalities as (
    select * from {{ ref('int_municipalities_classified') }}
),

participants as (
    select distinct municipality_id from {{ ref('kkik_participants_synthetic') }}
),

latest_population as (
    select municipality_id, year as population_year, population
    from {{ ref('int_population_conformed') }}
    where gender = 'T'
    qualify row_number() over (partition by municipality_id order by year desc) = 1
),

final as (
    select
        municipalities.municipality_id,
        municipalities.municipality_name,
        municipalities.municipality_type,
        municipalities.is_kommun,
        municipalities.county_code,
        municipalities.county_region_id,
        municipalities.county_region_name,
        municipalities.skr_group,
        municipalities.similar_group_id,
        municipalities.similar_group,
        participants.municipality_id is not null as is_kkik_participant,
        latest_population.population,
        latest_population.population_year
    from municipalities
    left join participants on municipalities.municipality_id = participants.municipality_id
    left join latest_population on municipalities.municipality_id = latest_population.municipality_id
)

select * from final
