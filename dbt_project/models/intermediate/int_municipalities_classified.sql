-- Kommuner, Riket and regions with their county, SKR municipality group and comparison group.
-- County: the first two digits of a kommun code; Kolada's region for county NN is 00NN.
-- SKR group: the nine "kommungruppsindelning" groups among Kolada's municipality groups (each kommun is
-- in exactly one). Comparison group: Kolada's "Liknande kommuner, övergripande, <kommun>, <year>",
-- the newest year when there are several (int_similar_kommun_groups parses the titles; a figure is
-- compared with its own area's group, see kkik_result).
with municipalities as (
    select * from {{ ref('stg_kolada__municipalities') }}
    where is_latest_load
),

group_members as (
    select * from {{ ref('stg_kolada__municipality_group_members') }}
    where is_latest_load
),

skr_groups as (
    select
        municipality_id,
        group_id as skr_group_id,
        replace(group_title, ' (ovägt medel)', '') as skr_group
    from group_members
    where replace(group_title, ' (ovägt medel)', '') in (
        'Storstäder', 'Pendlingskommun nära storstad', 'Större stad', 'Pendlingskommun nära större stad',
        'Lågpendlingskommun nära större stad', 'Mindre stad/tätort', 'Pendlingskommun nära mindre tätort',
        'Landsbygdskommun, ej nära större stad', 'Landsbygdskommun med besöksnäring'
    )
    qualify row_number() over (partition by municipality_id order by group_id) = 1
),

-- the overall group of the newest year; the group of a figure's own area is chosen in kkik_result
similar_groups as (
    select municipality_id, similar_group_id, similar_group
    from {{ ref('int_similar_kommun_groups') }}
    where similar_group_kind = 'övergripande'
    qualify row_number() over (partition by municipality_id order by group_year desc) = 1
),

regions as (
    select municipality_id as region_id, municipality_name as region_name
    from municipalities
    where municipality_type = 'L' and municipality_id <> '0000'
),

classified as (
    select
        municipalities.municipality_id,
        municipalities.municipality_name,
        municipalities.municipality_type,
        municipalities.municipality_type = 'K' as is_kommun,
        municipalities.municipality_id = '0000' as is_riket,
        case when municipalities.municipality_type = 'K' then substr(municipalities.municipality_id, 1, 2) end
            as county_code,
        regions.region_id as county_region_id,
        regions.region_name as county_region_name,
        skr_groups.skr_group_id,
        skr_groups.skr_group,
        similar_groups.similar_group_id,
        similar_groups.similar_group
    from municipalities
    left join regions
        on municipalities.municipality_type = 'K'
        and regions.region_id = '00' || substr(municipalities.municipality_id, 1, 2)
    left join skr_groups on municipalities.municipality_id = skr_groups.municipality_id
    left join similar_groups on municipalities.municipality_id = similar_groups.municipality_id
)

select * from classified
