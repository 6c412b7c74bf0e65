-- The versions of each inbox file, year by year: one row per accepted inbox file × year it holds, in its
-- landed rows or its quarantined rows (year null: quarantined rows in which no year could be read). A file
-- dropped again under the same name (a corrected file, say) is a new version of that name: for the years
-- it holds it replaces the earlier versions, whose landed values and quarantined rows then no longer count
-- (raw keeps them all); rows with no year are replaced by any later version. Years the new version does
-- not hold stay with the earlier one, so a name reused for next year's file does not withdraw last year's.
-- A rejected file is no version: it landed nothing and replaces nothing, and its quarantined rows count
-- nowhere (the load names it REJECTED). A version's time is its newest registration (raw.inbox_files): an
-- earlier content put back under its name (a correction undone) is reinstated, current again.
with landed_rows as (
    select distinct
        source as file_type,
        file_name,
        file_sha256,
        year
    from {{ ref('int_survey_rows') }}
),

quarantined_rows as (
    select distinct
        file_type,
        file_name,
        file_sha256,
        year
    from {{ ref('stg_surveys__inbox_quarantine') }}
    where file_status = 'accepted'
),

registrations as (
    select
        file_type,
        file_name,
        file_sha256,
        max(landed_at) as landed_at
    from {{ ref('stg_surveys__inbox_files') }}
    group by file_type, file_name, file_sha256
),

file_years as (
    select
        rows_of_file.*,
        registrations.landed_at
    from (
        select * from landed_rows
        union
        select * from quarantined_rows
    ) as rows_of_file
    inner join registrations
        on rows_of_file.file_type = registrations.file_type
        and rows_of_file.file_name = registrations.file_name
        and rows_of_file.file_sha256 = registrations.file_sha256
),

versioned as (
    select
        file_type,
        file_name,
        year,
        file_sha256,
        landed_at,
        landed_at = case
            when year is null then max(landed_at) over (partition by file_type, file_name)
            else max(landed_at) over (partition by file_type, file_name, year)
        end as is_current
    from file_years
)

select * from versioned
