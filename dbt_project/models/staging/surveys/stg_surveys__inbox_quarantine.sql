-- The inbox's quarantined rows (raw.inbox_quarantine), with the year each row refers to: it is in the row
-- as read, under the file's own column name (the aliases of `year` in expectations/inbox/*.yml); null
-- where the row has none that reads as a year.
with source as (
    select * from {{ source('surveys', 'inbox_quarantine') }}
),

with_year as (
    select
        load_id,
        file_sha256,
        file_type,
        file_name,
        file_status,
        sheet,
        row_number,
        column_name,
        value,
        reason,
        reason_code,
        try_cast(
            record ->> list_filter(
                json_keys(record),
                lambda k: lower(k) in ('år', 'mätår', 'undersökningsår', 'mätperiod', 'period', 'ar', 'year')
            )[1] as integer
        ) as year,
        quarantined_at as landed_at
    from source
)

select * from with_year
