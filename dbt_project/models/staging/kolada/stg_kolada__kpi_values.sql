with source as (
    select * from {{ source('kolada', 'kolada__data') }}
),

renamed as (
    select
        kpi as kpi_id,
        municipality as municipality_id,
        period as year,
        gender,
        value,
        count as aggregated_count,
        status,
        coalesce(isdeleted, false) as is_deleted,
        synthetic as is_synthetic,
        load_id,
        fetched_at
    from source
)

select * from renamed
