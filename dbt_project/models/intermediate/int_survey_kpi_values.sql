-- The survey and own-reporting values under the Kolada KPI each feeds (seed survey_kpi_map), in the shape
-- of the KPI values: kpi_id, municipality_id, year, gender, value, status, source, load_id, is_synthetic.
-- Measures the seed maps to no KPI (kpi_id empty) and cells with neither a number nor a marker are left
-- out, and so are the rows of a file's year that a later version of the file (the same name dropped
-- again) replaced (int_inbox_file_years). When files of other names give a value for the same KPI ×
-- kommun × year × gender, the newest value wins: a value's time is when its file name first gave it, in
-- the unbroken run of versions up to the current one that all gave the key that value. So a main file
-- dropped again for another reason does not undo a correction made meanwhile in a separate file; a version
-- that changes the key's value is newer than the correction; and an earlier version put back (reinstated)
-- has its values' times of then, so it restores the state it had, corrections in other files included.
with survey_rows as (
    select * from {{ ref('int_survey_rows') }}
),

file_years as (
    select * from {{ ref('int_inbox_file_years') }}
),

inbox_registrations as (
    select * from {{ ref('stg_surveys__inbox_files') }}
),

current_file_years as (
    select file_type, file_name, file_sha256, year, landed_at as version_landed_at
    from file_years
    where is_current
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

version_registrations as (
    -- every registration (landing or reinstatement) of a version of a file name, for each year it holds
    select
        file_years.file_type,
        file_years.file_name,
        file_years.file_sha256,
        file_years.year,
        registrations.landed_at as registered_at,
        min(registrations.landed_at) over (
            partition by file_years.file_type, file_years.file_name, file_years.file_sha256
        ) as first_registered_at
    from file_years
    inner join inbox_registrations as registrations
        on file_years.file_type = registrations.file_type
        and file_years.file_name = registrations.file_name
        and file_years.file_sha256 = registrations.file_sha256
),

mapped as (
    -- the values of every version, current or not (an earlier version's value dates the current one's)
    select
        kpi_map.kpi_id,
        survey_rows.municipality_id,
        survey_rows.year,
        survey_rows.gender,
        survey_rows.value,
        survey_rows.status,
        survey_rows.source,
        survey_rows.file_name,
        survey_rows.load_id,
        survey_rows.is_synthetic,
        survey_rows.file_sha256,
        survey_rows.row_number
    from survey_rows
    inner join kpi_map
        on survey_rows.source = kpi_map.file_type
        and coalesce(survey_rows.area_key, '') = kpi_map.area_key
        and survey_rows.measure_key = kpi_map.measure_key
        and survey_rows.year >= coalesce(kpi_map.first_year, survey_rows.year)
        and survey_rows.year <= coalesce(kpi_map.last_year, survey_rows.year)
    where survey_rows.value is not null or survey_rows.status is not null
),

current_values as (
    select
        mapped.*,
        current_file_years.version_landed_at
    from mapped
    inner join current_file_years
        on mapped.source = current_file_years.file_type
        and mapped.file_name = current_file_years.file_name
        and mapped.file_sha256 = current_file_years.file_sha256
        and mapped.year = current_file_years.year
),

current_first_registrations as (
    -- when each current version was first registered: a reinstated version's values date as they did then
    select distinct file_type, file_name, file_sha256, year, first_registered_at
    from version_registrations
),

registrations_of_value as (
    -- each current value beside every registration of its file name × year up to the current version's first
    -- (a version put back restores the state of then: corrections made in other files after it still stand),
    -- and whether that version gave the key the same value (and marker)
    select
        current_values.kpi_id,
        current_values.municipality_id,
        current_values.year,
        current_values.gender,
        current_values.file_name,
        version_registrations.registered_at,
        bool_or(same_value.kpi_id is not null) as gave_same_value
    from current_values
    inner join current_first_registrations as current_first
        on current_values.source = current_first.file_type
        and current_values.file_name = current_first.file_name
        and current_values.file_sha256 = current_first.file_sha256
        and current_values.year = current_first.year
    inner join version_registrations
        on current_values.source = version_registrations.file_type
        and current_values.file_name = version_registrations.file_name
        and current_values.year = version_registrations.year
        and version_registrations.registered_at <= current_first.first_registered_at
    left join mapped as same_value
        on version_registrations.file_sha256 = same_value.file_sha256
        and current_values.kpi_id = same_value.kpi_id
        and current_values.municipality_id = same_value.municipality_id
        and current_values.year = same_value.year
        and current_values.gender = same_value.gender
        and current_values.value is not distinct from same_value.value
        and current_values.status is not distinct from same_value.status
    group by all
),

value_times as (
    -- when the file name first gave the key its current value: the first registration after the last one
    -- that gave another value or none
    select
        kpi_id,
        municipality_id,
        year,
        gender,
        file_name,
        min(registered_at) as value_since
    from (
        select
            *,
            max(registered_at) filter (where not gave_same_value) over (
                partition by kpi_id, municipality_id, year, gender, file_name
            ) as last_other_at
        from registrations_of_value
    )
    where last_other_at is null or registered_at > last_other_at
    group by all
),

latest as (
    select current_values.*
    from current_values
    inner join value_times
        on current_values.kpi_id = value_times.kpi_id
        and current_values.municipality_id = value_times.municipality_id
        and current_values.year = value_times.year
        and current_values.gender = value_times.gender
        and current_values.file_name = value_times.file_name
    qualify row_number() over (
        partition by current_values.kpi_id, current_values.municipality_id, current_values.year,
            current_values.gender
        order by value_times.value_since desc, current_values.version_landed_at desc,
            current_values.load_id desc, current_values.file_sha256, current_values.row_number
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
