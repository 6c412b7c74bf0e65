-- One row per KPI record per load. v2 and v3 name a few fields differently (auspices / auspice;
-- 0/1 / true/false): both are read here so the rest of the project sees one shape.
with source as (
    select * from {{ source('kolada', 'kolada__kpi') }}
),

renamed as (
    select
        record ->> 'id' as kpi_id,
        record ->> 'title' as title,
        record ->> 'description' as description,
        lower(record ->> 'is_divided_by_gender') in ('true', '1') as is_divided_by_gender,
        record ->> 'municipality_type' as municipality_type,
        coalesce(record ->> 'auspice', record ->> 'auspices') as auspice,
        record ->> 'operating_area' as operating_area,
        record ->> 'perspective' as perspective,
        try_cast(record ->> 'prel_publication_date' as date) as prel_publication_date,
        try_cast(record ->> 'publication_date' as date) as publication_date,
        try_cast(record ->> 'publ_period' as integer) as publ_period,
        lower(record ->> 'has_ou_data') in ('true', '1') as has_ou_data,
        load_id,
        fetched_at,
        dense_rank() over (order by load_id desc) = 1 as is_latest_load
    from source
)

select * from renamed
