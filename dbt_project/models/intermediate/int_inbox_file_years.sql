-- The versions of each inbox file, year by year: one row per landed file × year it holds, in its landed
-- rows or its quarantined rows (year null: quarantined rows in which no year could be read). A file
-- dropped again under the same name (a corrected file, say) is a new version of that name: for the years
-- it holds it replaces the earlier versions, whose landed values and quarantined rows then no longer count
-- (raw keeps them all); rows with no year are replaced by any later version. Years the new version does
-- not hold stay with the earlier one, so a name reused for next year's file does not withdraw last year's.
-- Only an accepted file replaces: a rejected one (it landed nothing) leaves the earlier version counting.
with landed_rows as (
    select distinct
        source as file_type,
        file_name,
        file_sha256,
        year,
        landed_at,
        true as is_accepted
    from {{ ref('int_survey_rows') }}
),

quarantined_rows as (
    select distinct
        file_type,
        file_name,
        file_sha256,
        year,
        landed_at,
        file_status = 'accepted' as is_accepted
    from {{ ref('stg_surveys__inbox_quarantine') }}
),

file_years as (
    select * from landed_rows
    union
    select * from quarantined_rows
),

latest_accepted as (
    select
        *,
        max(landed_at) filter (where is_accepted) over (partition by file_type, file_name, year)
            as year_latest_accepted_at,
        max(landed_at) filter (where is_accepted) over (partition by file_type, file_name)
            as name_latest_accepted_at
    from file_years
),

versioned as (
    select
        file_type,
        file_name,
        year,
        file_sha256,
        landed_at,
        is_accepted,
        landed_at >= coalesce(
            case when year is null then name_latest_accepted_at else year_latest_accepted_at end,
            landed_at
        ) as is_current
    from latest_accepted
)

select * from versioned
