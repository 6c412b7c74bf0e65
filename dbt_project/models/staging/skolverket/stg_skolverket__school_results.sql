with source as (
    select * from {{ source('skolverket', 'skolverket__school_results') }}
),

renamed as (
    select
        export,
        municipality_id,
        municipality_name,
        school_year,
        cast(year as integer) as year,
        measure,
        gender,
        huvudman,
        population,
        value,
        status,
        unit,
        load_id
    from source
)

select * from renamed
