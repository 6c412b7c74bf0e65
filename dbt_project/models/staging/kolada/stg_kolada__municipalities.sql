with source as (
    select * from {{ source('kolada', 'kolada__municipality') }}
),

renamed as (
    select
        record ->> 'id' as municipality_id,
        record ->> 'title' as municipality_name,
        record ->> 'type' as municipality_type,
        load_id,
        fetched_at,
        dense_rank() over (order by load_id desc) = 1 as is_latest_load
    from source
)

select * from renamed
