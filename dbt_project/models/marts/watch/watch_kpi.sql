-- The watch's KPI attributes: what decides which rules apply to a figure (unit, kind, direction, how
-- it is collected), whom to ask, and which kind of similar-kommuner group compares it (the area's,
-- dim_kpi.similar_group_kind, as kkik_result uses).
select
    kpi_id,
    title,
    unit,
    direction,
    is_divided_by_gender,
    collection_method,
    source_agency,
    is_additive,
    similar_group_kind
from {{ ref('dim_kpi') }}
