-- The quarantined inbox rows that count: those of a file that is the current version of its name for the
-- row's year (int_inbox_file_years: a corrected file dropped under the same name replaces the earlier one;
-- a rejected file, which landed nothing, is no version). What kkik_unknown_code and kkik_inbox_quarantine
-- list, each for its reasons.
{{ config(materialized='ephemeral') }}

with inbox_quarantine as (
    select * from {{ ref('stg_surveys__inbox_quarantine') }}
),

current_file_years as (
    select file_sha256, year from {{ ref('int_inbox_file_years') }}
    where is_current
),

current_rows as (
    select inbox_quarantine.*
    from inbox_quarantine
    semi join current_file_years
        on inbox_quarantine.file_sha256 = current_file_years.file_sha256
        and inbox_quarantine.year is not distinct from current_file_years.year
)

select * from current_rows
