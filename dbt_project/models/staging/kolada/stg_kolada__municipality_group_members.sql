-- One row per group × member. The API documents members as {member_id, member_title}; the cached
-- catalogue uses {id, title}: both are read.
with source as (
    select * from {{ source('kolada', 'kolada__municipality_groups') }}
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
        coalesce(member ->> 'member_id', member ->> 'id') as municipality_id,
        coalesce(member ->> 'member_title', member ->> 'title') as municipality_name,
        load_id,
        is_latest_load
    from members
)

select * from renamed
