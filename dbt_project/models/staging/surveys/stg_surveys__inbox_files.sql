-- The inbox's registry (raw.inbox_files): each accepted file's content under its name, with every time it
-- was registered (landed, or reinstated when put back after another version of the name).
with source as (
    select * from {{ source('surveys', 'inbox_files') }}
),

accepted as (
    select
        file_sha256,
        file_type,
        file_name,
        load_id,
        landed_at
    from source
    where status = 'accepted'
)

select * from accepted
