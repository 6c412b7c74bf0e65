-- The inbox rows that were not loaded for another reason than an unknown municipality code (which
-- kkik_unknown_code lists): text where a number belongs, a value out of range, a repeated or conflicting
-- row, a missing cell. Those rows are not in the mart, and the cells they would have filled are empty or
-- keep another source's value; the audit turns each group into a flag (integrity.quarantined_rows) so a
-- reviewer sees them in the watch, not only in the load's line. Only current file versions count
-- (int_inbox_quarantine_current): a corrected file clears them.
-- One row per file × year × reason.
with current_rows as (
    select * from {{ ref('int_inbox_quarantine_current') }}
    where reason_code is distinct from 'unknown_municipality'
),

grouped as (
    select
        file_type,
        file_name,
        year,
        coalesce(reason_code, 'unknown_reason') as reason_code,
        -- rows, not problems: the quarantine has a row per problem, and a row can have two
        count(distinct (sheet, row_number)) as row_count,
        -- the first rows, as a reviewer opens the file (raw.inbox_quarantine has every row)
        list(distinct row_number order by row_number)[1:5] as first_rows,
        -- the inbox's reason names the file, which each row here names already: its location in the file stays
        regexp_replace(arg_min(reason, row_number), '^file ''.*?'', (sheet –, )?', '') as first_reason
    from current_rows
    group by all
),

final as (
    select
        file_type,
        file_name,
        cast(year as integer) as year,
        reason_code,
        row_count,
        array_to_string(first_rows, ', ') as first_rows,
        first_reason
    from grouped
)

select * from final
