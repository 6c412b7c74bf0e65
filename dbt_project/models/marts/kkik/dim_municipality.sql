with municipalities as (
    select * from {{ ref('int_municipalities_classified') }}
),

participants as (
    select distinct municipality_id from {{ ref('kkik_participants_synthetic') }}
),

final as (
    select
        municipalities.municipality_id,
        municipalities.municipality_name,
        municipalities.municipality_type,
        municipalities.is_kommun,
        municipalities.county_code,
        municipalities.county_region_id,
        municipalities.county_region_name,
        municipalities.skr_group,
        municipalities.similar_group_id,
        municipalities.similar_group,
        participants.municipality_id is not null as is_kkik_participant
    from municipalities
    left join participants on municipalities.municipality_id = participants.municipality_id
)

select * from final
