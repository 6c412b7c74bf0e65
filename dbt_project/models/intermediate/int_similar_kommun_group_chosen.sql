-- Which similar-kommuner group compares a figure, the one definition (kkik_result's similar-kommuner mean and
-- the watch's outlier.similar, through watch_similar_peer, both read it): one row per kommun × kind of area
-- group (dim_kpi.similar_group_kind) × year with values × member of the chosen group (the kommun itself
-- included: consumers leave it out). The group is Kolada's group of the figure's area kind of the value's
-- year where there is one, else the newest of that kind; the overall group ('övergripande', same
-- preference) where Kolada has none of the kind for the kommun.
-- `kkik watch --values` runs this file on its landed inputs (pipelines/quality/warehouse.py INPUT_ALIASES).
with groups as (
    select municipality_id, similar_group_kind, group_year, similar_group_id
    from {{ ref('int_similar_kommun_groups') }}
),

members as (
    select distinct group_id, municipality_id
    from {{ ref('stg_kolada__municipality_group_members') }}
    where is_latest_load
),

figure_kinds as (
    select distinct similar_group_kind from {{ ref('int_kpis_all') }}
),

value_years as (
    select distinct year from {{ ref('int_kpi_values_conformed') }} where year is not null
),

chosen as (
    select
        groups.municipality_id,
        figure_kinds.similar_group_kind,
        value_years.year,
        groups.similar_group_kind as chosen_group_kind,
        groups.group_year,
        groups.similar_group_id
    from figure_kinds
    cross join value_years
    inner join groups on groups.similar_group_kind in (figure_kinds.similar_group_kind, 'övergripande')
    qualify row_number() over (
        partition by groups.municipality_id, figure_kinds.similar_group_kind, value_years.year
        order by
            groups.similar_group_kind = figure_kinds.similar_group_kind desc,
            groups.group_year = value_years.year desc,
            groups.group_year desc
    ) = 1
),

final as (
    select chosen.*, members.municipality_id as member_id
    from chosen
    inner join members on chosen.similar_group_id = members.group_id
)

select * from final
