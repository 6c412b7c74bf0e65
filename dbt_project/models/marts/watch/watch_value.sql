-- The watch's input values: every value of the audit mart as loaded (one row per source record).
-- `kkik watch --values` hands the watch a submission in exactly these columns instead (see
-- pipelines/quality/warehouse.py); every watch model below reads only these four inputs.
select
    kpi_id,
    municipality_id,
    year,
    gender,
    value,
    status,
    source,
    coalesce(is_synthetic, false) as is_synthetic,
    row_number() over (order by kpi_id, municipality_id, year, gender) as input_row
from {{ ref('fct_kpi_value') }}
