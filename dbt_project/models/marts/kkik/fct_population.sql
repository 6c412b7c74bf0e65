with population as (
    select * from {{ ref('int_population_conformed') }}
),

municipalities as (
    select municipality_id from {{ ref('dim_municipality') }}
),

final as (
    select
        population.municipality_id,
        population.year,
        population.gender,
        population.population,
        population.status,
        'scb' as source,
        population.load_id
    from population
    inner join municipalities on population.municipality_id = municipalities.municipality_id
)

select * from final
