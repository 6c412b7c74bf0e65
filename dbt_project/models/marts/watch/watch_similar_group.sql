-- Each kommun's similar-kommuner groups (Kolada's "Liknande kommuner", one per area kind and group
-- year, int_similar_kommun_groups): watch_similar_peer picks the one for a figure's area.
select municipality_id, similar_group_kind, group_year, similar_group_id as similar_group
from {{ ref('int_similar_kommun_groups') }}
