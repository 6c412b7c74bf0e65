-- Kolada's "Liknande kommuner" groups, one row per kommun × group kind × group year.
-- Kolada names each group after the kommun it is built for: "Liknande kommuner <kind>, <kommun>, <year>"
-- for an area (förskola, grundskola, gymnasieskola, fritidshem, äldreomsorg, IFO, LSS, ekonomiskt bistånd,
-- arbetsmarknad, räddningstjänst, socioekonomi) and "Liknande kommuner, övergripande, <kommun>, <year>"
-- for the overall one. Groups built for a region ("Region Stockholm") are not kommun groups and drop out
-- in the join. The members include the owner itself: consumers exclude it where they need to.
with group_members as (
    select * from {{ ref('stg_kolada__municipality_group_members') }}
    where is_latest_load
),

municipalities as (
    select municipality_id, municipality_name
    from {{ ref('stg_kolada__municipalities') }}
    where is_latest_load and municipality_type = 'K'
),

group_titles as (
    select distinct
        group_id,
        group_title,
        regexp_extract(group_title, '^Liknande kommuner,? ([^,]+), (.+), (\d{4})$', 1) as similar_group_kind,
        regexp_extract(group_title, '^Liknande kommuner,? ([^,]+), (.+), (\d{4})$', 2) as owner_name,
        try_cast(regexp_extract(group_title, '^Liknande kommuner,? ([^,]+), (.+), (\d{4})$', 3) as integer)
            as group_year
    from group_members
    where regexp_matches(group_title, '^Liknande kommuner,? ([^,]+), (.+), (\d{4})$')
),

final as (
    select
        municipalities.municipality_id,
        group_titles.similar_group_kind,
        group_titles.group_year,
        group_titles.group_id as similar_group_id,
        group_titles.group_title as similar_group
    from group_titles
    inner join municipalities on group_titles.owner_name = municipalities.municipality_name
    -- one group per kommun, kind and year (a second load of the same title keeps the lowest id)
    qualify row_number() over (
        partition by municipalities.municipality_id, group_titles.similar_group_kind, group_titles.group_year
        order by group_titles.group_id
    ) = 1
)

select * from final
