-- Each kommun's similar kommuner for each kind of area group and checked year, as pairs (municipality_id,
-- peer_id), never a kommun with itself: the members of the group int_similar_kommun_group_chosen chooses
-- (the one definition, also kkik_result's), for the kinds and years the watch checks.
with wanted as (
    select distinct similar_group_kind, year from {{ ref('watch_cell') }} where is_kommun
),

chosen as (
    select * from {{ ref('int_similar_kommun_group_chosen') }}
)

select distinct
    chosen.similar_group_kind,
    chosen.year,
    chosen.municipality_id,
    chosen.member_id as peer_id
from chosen
inner join wanted on chosen.similar_group_kind = wanted.similar_group_kind and chosen.year = wanted.year
inner join {{ ref('watch_municipality') }} as municipalities
    on chosen.municipality_id = municipalities.municipality_id
where municipalities.is_kommun and chosen.member_id <> chosen.municipality_id
