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
    -- a values file's rows carry their row in the file (for the integrity messages); the mart's have none
    cast(null as integer) as file_row,
    -- the row's place within its year: fct_kpi_value holds one row per key, so each row is the first of its
    -- key; a window per year, not one over every row, lets a filter on the year reach the table
    row_number() over (partition by year order by kpi_id, municipality_id, gender) as input_row
from {{ ref('fct_kpi_value') }}
