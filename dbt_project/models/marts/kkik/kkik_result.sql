-- One row per KKiK key figure × kommun × year × gender: the value, its colour against all kommuner,
-- and what the report shows beside it. The rules (ties, no direction, missing) are in the YAML docs.
-- Rows: every figure-year-gender with a kommun value, and every figure-year-gender the KKiK set expects
-- in the loaded years even when no kommun has a value (grey rows, so a report shows the gap).
-- Every mean is an ordered aggregate (`avg(value order by municipality_id)`): a float sum in no fixed order
-- differs in the last bits between two builds of the same data.
-- The KKiK set only (dim_kpi.is_kkik): fct_kpi_value also holds every other Kolada figure landed.
with kpis as (
    select kpi_id, direction, first_kkik_year, last_kkik_year, kkik_year_offset, is_divided_by_gender,
        similar_group_kind
    from {{ ref('dim_kpi') }}
    where is_kkik
),

kpi_values as (
    select fct_kpi_value.*
    from {{ ref('fct_kpi_value') }} as fct_kpi_value
    semi join kpis on fct_kpi_value.kpi_id = kpis.kpi_id
),

kommuner as (
    select municipality_id, county_code, similar_group_id
    from {{ ref('dim_municipality') }}
    where is_kommun
),

similar_group_members as (
    select municipality_id, similar_group_kind, year, member_id
    from {{ ref('int_similar_kommun_group_chosen') }}
),

kommun_values as (
    select kpi_values.*
    from kpi_values
    inner join kommuner on kpi_values.municipality_id = kommuner.municipality_id
),

-- a key figure × year × gender is reported when at least one kommun has a value for it
reported_cells as (
    select distinct kpi_id, year, gender
    from kommun_values
    where value is not null
),

loaded_years as (
    select distinct year from kpi_values
),

-- the genders a figure is published for: T, and K and M where Kolada divides it or a source sent them
kpi_genders as (
    select kpi_id, 'T' as gender from kpis
    union
    select kpis.kpi_id, genders.gender
    from kpis
    cross join (values ('K'), ('M')) as genders (gender)
    where kpis.is_divided_by_gender
    union
    select distinct kpi_id, gender from kpi_values
),

-- what the KKiK set expects in the loaded years, with a value or not
expected_cells as (
    select kpis.kpi_id, loaded_years.year, kpi_genders.gender
    from kpis
    cross join loaded_years
    inner join kpi_genders on kpis.kpi_id = kpi_genders.kpi_id
    where loaded_years.year + kpis.kkik_year_offset
        between kpis.first_kkik_year and coalesce(kpis.last_kkik_year, 9999)
),

shown_cells as (
    select kpi_id, year, gender from reported_cells
    union
    select kpi_id, year, gender from expected_cells
),

scaffold as (
    select
        shown_cells.kpi_id,
        kommuner.municipality_id,
        shown_cells.year,
        shown_cells.gender,
        kommuner.county_code
    from shown_cells
    cross join kommuner
),

with_values as (
    select
        scaffold.*,
        kpis.similar_group_kind,
        kommun_values.value,
        kommun_values.status,
        coalesce(kommun_values.is_synthetic, false) as is_synthetic,
        kpis.direction,
        scaffold.year + kpis.kkik_year_offset as kkik_year,
        scaffold.year + kpis.kkik_year_offset
            between kpis.first_kkik_year and coalesce(kpis.last_kkik_year, 9999) as is_in_kkik_set
    from scaffold
    inner join kpis on scaffold.kpi_id = kpis.kpi_id
    left join kommun_values
        on scaffold.kpi_id = kommun_values.kpi_id
        and scaffold.municipality_id = kommun_values.municipality_id
        and scaffold.year = kommun_values.year
        and scaffold.gender = kommun_values.gender
),

ranked as (
    select
        *,
        case
            when value is null then null
            when direction = 'lower'
                then rank() over (partition by kpi_id, year, gender, value is null order by value asc)
            else rank() over (partition by kpi_id, year, gender, value is null order by value desc)
        end as national_rank,
        count(value) over (partition by kpi_id, year, gender) as n_ranked
    from with_values
),

national as (
    -- median and quartiles as the watch defines them (macro robust_stats), min and max beside them
    select
        kpi_id,
        year,
        gender,
        {{ robust_stats('value') }},
        min(value) as national_min,
        max(value) as national_max
    from kommun_values
    group by kpi_id, year, gender
),

riket as (
    select kpi_id, year, gender, value as riket_value
    from kpi_values
    where municipality_id = '0000'
),

county as (
    select kommun_values.kpi_id, kommun_values.year, kommun_values.gender, kommuner.county_code,
        avg(kommun_values.value order by kommun_values.municipality_id) as county_mean
    from kommun_values
    inner join kommuner on kommun_values.municipality_id = kommuner.municipality_id
    group by all
),

similar_means as (
    select
        ranked.kpi_id,
        ranked.municipality_id,
        ranked.year,
        ranked.gender,
        avg(peer_values.value order by peer_values.municipality_id) as similar_group_mean,
        count(peer_values.value) as similar_group_n
    from ranked
    -- the members of the kommun's group for the figure's area (int_similar_kommun_group_chosen)
    inner join similar_group_members
        on ranked.municipality_id = similar_group_members.municipality_id
        and ranked.similar_group_kind = similar_group_members.similar_group_kind
        and ranked.year = similar_group_members.year
    inner join kommun_values as peer_values
        on similar_group_members.member_id = peer_values.municipality_id
        and ranked.kpi_id = peer_values.kpi_id
        and ranked.year = peer_values.year
        and ranked.gender = peer_values.gender
        and peer_values.municipality_id <> ranked.municipality_id
    group by all
),

final as (
    select
        ranked.kpi_id,
        ranked.municipality_id,
        ranked.year,
        ranked.gender,
        ranked.value,
        {{ kkik_colour('ranked.value', 'ranked.direction', 'ranked.national_rank', 'ranked.n_ranked') }}
            as colour,
        ranked.kkik_year,
        ranked.is_in_kkik_set,
        ranked.status,
        ranked.direction,
        cast(ranked.national_rank as integer) as national_rank,
        cast(ranked.n_ranked as integer) as n_ranked,
        cast(case
            when ranked.value is null then null
            when ranked.n_ranked = 1 then 100
            else round(100.0 * (ranked.n_ranked - ranked.national_rank) / (ranked.n_ranked - 1), 1)
        end as double) as percentile,
        national.national_min,
        national.q1 as national_q1,
        national.median as national_median,
        national.q3 as national_q3,
        national.national_max,
        riket.riket_value,
        county.county_mean,
        similar_means.similar_group_mean,
        cast(similar_means.similar_group_n as integer) as similar_group_n,
        previous.value as previous_value,
        ranked.value - previous.value as change_from_previous_year,
        ranked.is_synthetic
    from ranked
    left join national
        on ranked.kpi_id = national.kpi_id and ranked.year = national.year and ranked.gender = national.gender
    left join riket
        on ranked.kpi_id = riket.kpi_id and ranked.year = riket.year and ranked.gender = riket.gender
    left join county
        on ranked.kpi_id = county.kpi_id and ranked.year = county.year and ranked.gender = county.gender
        and ranked.county_code = county.county_code
    left join similar_means
        on ranked.kpi_id = similar_means.kpi_id and ranked.municipality_id = similar_means.municipality_id
        and ranked.year = similar_means.year and ranked.gender = similar_means.gender
    left join {{ ref('watch_kpi_period') }} as periods
        on ranked.kpi_id = periods.kpi_id and ranked.year = periods.year
    left join kommun_values as previous
        on ranked.kpi_id = previous.kpi_id and ranked.municipality_id = previous.municipality_id
        and periods.previous_year = previous.year and ranked.gender = previous.gender
)

select * from final
