-- The watch's municipalities: kommun or not (only kommuner are coloured and compared), KKiK
-- participation (a participant without a value turns grey) and the similar-kommuner group.
select
    municipality_id,
    municipality_name as name,
    county_code as county_id,
    is_kommun,
    similar_group_id as similar_group,
    is_kkik_participant as is_participant
from {{ ref('dim_municipality') }}
