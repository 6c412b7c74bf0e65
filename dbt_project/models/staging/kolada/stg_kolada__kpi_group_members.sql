with source as (
    select * from {{ source('kolada', 'kolada__kpi_groups') }}
),

members as (
    select
        record ->> 'id' as group_id,
        record ->> 'title' as group_title,
        unnest(cast(record -> 'members' as json[])) as member,
        load_id,
        dense_rank() over (order by load_id desc) = 1 as is_latest_load
    from source
),

renamed as (
    select
        group_id,
        group_title,
        coalesce(member ->> 'member_id', member ->> 'id') as kpi_id,
        coalesce(member ->> 'member_title', member ->> 'title') as kpi_title,
        load_id,
        is_latest_load
    from members
)

select * from renamed
