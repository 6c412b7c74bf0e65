-- The survey and own-reporting values under the Kolada KPI each feeds (seed survey_kpi_map), in the shape
-- of the KPI values: kpi_id, municipality_id, year, gender, value, status, source, load_id, is_synthetic.
-- Measures the seed maps to no KPI (kpi_id empty) and cells with neither a number nor a marker are left
-- out, and so are the rows of a file's year that a later version of the file (the same name dropped
-- again) replaced (int_inbox_file_years). When several landed files give a value for the same KPI ×
-- kommun × year × gender (files of other names), the most recently landed (or reinstated) version wins.
with survey_rows as (
    select * from {{ ref('int_survey_rows') }}
),

current_file_years as (
    select file_type, file_name, file_sha256, year, landed_at as version_landed_at
    from {{ ref('int_inbox_file_years') }}
    where is_current
),

survey_values as (
    select survey_rows.*, current_file_years.version_landed_at
    from survey_rows
    inner join current_file_years
        on survey_rows.source = current_file_years.file_type
        and survey_rows.file_name = current_file_years.file_name
        and survey_rows.file_sha256 = current_file_years.file_sha256
        and survey_rows.year = current_file_years.year
),

kpi_map as (
    select
        file_type,
        coalesce(area, '') as area_key,
        measure as measure_key,
        first_year,
        last_year,
        kpi_id
    from {{ ref('survey_kpi_map') }}
    where kpi_id is not null
),

mapped as (
    select
        kpi_map.kpi_id,
        survey_values.municipality_id,
        survey_values.year,
        survey_values.gender,
        survey_values.value,
        survey_values.status,
        survey_values.source,
        survey_values.load_id,
        survey_values.is_synthetic,
        survey_values.version_landed_at,
        survey_values.file_sha256,
        survey_values.row_number
    from survey_values
    inner join kpi_map
        on survey_values.source = kpi_map.file_type
        and coalesce(survey_values.area_key, '') = kpi_map.area_key
        and survey_values.measure_key = kpi_map.measure_key
        and survey_values.year >= coalesce(kpi_map.first_year, survey_values.year)
        and survey_values.year <= coalesce(kpi_map.last_year, survey_values.year)
    where survey_values.value is not null or survey_values.status is not null
),

latest as (
    select * from mapped
    qualify row_number() over (
        partition by kpi_id, municipality_id, year, gender
        order by version_landed_at desc, load_id desc, file_sha256, row_number
    ) = 1
),

final as (
    select
        kpi_id,
        municipality_id,
        cast(year as integer) as year,
        gender,
        cast(value as double) as value,
        status,
        source,
        load_id,
        is_synthetic
    from latest
)

select * from final
