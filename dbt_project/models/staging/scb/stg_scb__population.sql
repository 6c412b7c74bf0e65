with source as (
    select * from {{ source('scb', 'scb__population') }}
),

renamed as (
    select
        municipality_id as region_code,
        region_level,
        cast(year as integer) as year,
        gender,
        population,
        nullif(status, '') as status,
        load_id
    from source
)

select * from renamed
