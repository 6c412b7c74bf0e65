-- SCB's population with Kolada's municipality ids: kommuner keep their 4 digits, Riket `00` becomes
-- `0000` and län `NN` becomes Kolada's region `00NN`, so population joins every KKiK table.
with population as (
    select * from {{ ref('stg_scb__population') }}
),

conformed as (
    select
        case
            when region_level = 'riket' then '0000'
            when region_level = 'lan' then '00' || region_code
            else region_code
        end as municipality_id,
        region_level,
        year,
        gender,
        population,
        status,
        load_id
    from population
)

select * from conformed
