-- The members of every kommun's similar-kommuner groups (Kolada's "Liknande kommuner", newest load).
select distinct
    members.group_id as similar_group,
    members.municipality_id
from {{ ref('stg_kolada__municipality_group_members') }} as members
where members.is_latest_load
    and members.group_id in (select similar_group from {{ ref('watch_similar_group') }})
