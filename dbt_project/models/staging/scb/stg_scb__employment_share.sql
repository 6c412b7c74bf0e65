with source as (
    select * from {{ source('scb', 'scb__employment_share') }}
),

renamed as (
    select
        municipality_id as region_code,
        region_level,
        cast(year as integer) as year,
        gender,
        employment_share,
        nullif(status, '') as status,
        load_id
    from source
)

select * from renamed
