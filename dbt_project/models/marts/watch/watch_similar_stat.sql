-- The same robust statistics per kommun over its similar kommuner (the members of its group for the
-- figure's area, watch_similar_peer, itself excluded), per figure x year x gender and measure: the
-- outlier rule against similar kommuner reads them. var('watch_similar_measures') ({unit: measure},
-- the rule's transform) keeps only the measure each unit is compared on: a sevenfold join of every
-- kommun cell is the largest thing the watch computes, and the whole of Kolada has a million of them.
{%- set by_unit = var('watch_similar_measures', {}) %}
with kommun_cells as (
    select kpi_id, municipality_id, year, gender, unit, similar_group_kind, {{ watch_measures('value') }}
    from {{ ref('watch_cell') }}
    where is_kommun and value is not null and {{ watch_years_filter('year') }}
),

peers as (
    select * from {{ ref('watch_similar_peer') }}
),

pairs as (
    select own.kpi_id, own.municipality_id, own.year, own.gender, own.unit, peer.value, peer.log10, peer.log1p
    from kommun_cells as own
    inner join peers
        on own.municipality_id = peers.municipality_id and own.similar_group_kind = peers.similar_group_kind
        and own.year = peers.year
    inner join kommun_cells as peer
        on peers.peer_id = peer.municipality_id and own.kpi_id = peer.kpi_id
        and own.year = peer.year and own.gender = peer.gender
),

measures as (
    {%- if by_unit %}
    select
        kpi_id, municipality_id, year, gender,
        case unit {% for unit, measure in by_unit.items() %}when '{{ unit }}' then '{{ measure }}' {% endfor %}
            else 'value' end as measure,
        case unit {% for unit, measure in by_unit.items() %}when '{{ unit }}' then {{ measure }} {% endfor %}
            else value end as x
    from pairs
    {%- else %}
    unpivot (select * exclude (unit) from pairs)
    on value, log10, log1p
    into name measure value x
    {%- endif %}
)

select
    kpi_id,
    municipality_id,
    year,
    gender,
    measure,
    {{ robust_stats('x') }}
from measures
group by kpi_id, municipality_id, year, gender, measure
