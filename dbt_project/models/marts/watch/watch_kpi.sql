-- The watch's KPI attributes: what decides which rules apply to a figure (unit, kind, direction, how
-- it is collected) and whom to ask.
select
    kpi_id,
    title,
    unit,
    direction,
    is_divided_by_gender,
    collection_method,
    source_agency,
    -- no KKiK figure is a plain count of people (rules.yml's additive_kpis lists exceptions)
    false as is_additive
from {{ ref('dim_kpi') }}
