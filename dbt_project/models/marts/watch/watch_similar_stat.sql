-- The same robust statistics per kommun over its similar kommuner (the members of its group for the
-- figure's area, watch_similar_peer, itself excluded), per figure x year x gender and measure: the
-- outlier rule against similar kommuner reads them.
with kommun_cells as (
    select kpi_id, municipality_id, year, gender, similar_group_kind, {{ watch_measures('value') }}
    from {{ ref('watch_cell') }}
    where is_kommun and value is not null and {{ watch_years_filter('year') }}
),

peers as (
    select * from {{ ref('watch_similar_peer') }}
),

measures as (
    unpivot (
        select own.kpi_id, own.municipality_id, own.year, own.gender, peer.value, peer.log10, peer.log1p
        from kommun_cells as own
        inner join peers
            on own.municipality_id = peers.municipality_id and own.similar_group_kind = peers.similar_group_kind
            and own.year = peers.year
        inner join kommun_cells as peer
            on peers.peer_id = peer.municipality_id and own.kpi_id = peer.kpi_id
            and own.year = peer.year and own.gender = peer.gender
    )
    on value, log10, log1p
    into name measure value x
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
