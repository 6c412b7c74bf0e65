-- Each kommun's similar kommuner for each kind of area group and checked year, as pairs (municipality_id,
-- peer_id), never a kommun with itself. The group is chosen as kkik_result chooses it (macro
-- similar_group_order): the kommun's group of the figure's area kind (dim_kpi.similar_group_kind) of the
-- value's year where there is one, else its newest; the overall group where Kolada has none of the kind.
with wanted as (
    select distinct similar_group_kind, year from {{ ref('watch_cell') }} where is_kommun
),

chosen as (
    select wanted.similar_group_kind, wanted.year, groups.municipality_id, groups.similar_group
    from wanted
    inner join {{ ref('watch_similar_group') }} as groups
        on groups.similar_group_kind in (wanted.similar_group_kind, 'övergripande')
    qualify row_number() over (
        partition by wanted.similar_group_kind, wanted.year, groups.municipality_id
        order by {{ similar_group_order('groups.similar_group_kind', 'groups.group_year',
                                        'wanted.similar_group_kind', 'wanted.year') }}
    ) = 1
)

select distinct
    chosen.similar_group_kind,
    chosen.year,
    chosen.municipality_id,
    members.municipality_id as peer_id
from chosen
inner join {{ ref('watch_municipality') }} as municipalities
    on chosen.municipality_id = municipalities.municipality_id
inner join {{ ref('watch_similar_member') }} as members on chosen.similar_group = members.similar_group
where municipalities.is_kommun and members.municipality_id <> chosen.municipality_id
