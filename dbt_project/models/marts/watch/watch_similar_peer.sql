-- Each kommun's similar kommuner as pairs (municipality_id, peer_id), never a kommun with itself: the
-- members of its own "Liknande kommuner" group.
select distinct municipalities.municipality_id, members.municipality_id as peer_id
from {{ ref('watch_municipality') }} as municipalities
inner join {{ ref('watch_similar_member') }} as members
    on municipalities.similar_group = members.similar_group
where municipalities.is_kommun and members.municipality_id <> municipalities.municipality_id
