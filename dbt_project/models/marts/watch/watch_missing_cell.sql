-- The empty cells of KKiK participants (kommuner with is_participant) that would show grey: per checked
-- figure x year x gender that at least one participant has a value for, every participant without a
-- number, with its status (a row without a value may say why), the figure's previous period and the
-- participant's value then, and how the figure stands among all participants: the share with a value
-- now, how many had one in the previous period, and how many of those have one now.
with participants as (
    select municipality_id from {{ ref('watch_municipality') }} where is_kommun and is_participant
),

cells as (
    select kpi_id, municipality_id, year, gender, value, status
    from {{ ref('watch_cell') }}
    where municipality_id in (select municipality_id from participants)
),

published as (
    select distinct kpi_id, year, gender from cells where value is not null
),

grid as (
    select
        published.kpi_id,
        participants.municipality_id,
        published.year,
        published.gender,
        cells.value,
        cells.status,
        periods.previous_year as prev_year,
        case published.gender when 'T' then before.value_t when 'K' then before.value_k else before.value_m end
            as prev_value
    from published
    cross join participants
    left join cells
        on published.kpi_id = cells.kpi_id and participants.municipality_id = cells.municipality_id
        and published.year = cells.year and published.gender = cells.gender
    left join {{ ref('watch_kpi_period') }} as periods
        on published.kpi_id = periods.kpi_id and published.year = periods.year
    left join {{ ref('watch_number') }} as before
        on published.kpi_id = before.kpi_id and participants.municipality_id = before.municipality_id
        and periods.previous_year = before.year
),

standing as (
    select
        *,
        avg(case when value is not null then 1.0 else 0.0 end) over figure as share_with_value,
        count(prev_value) over figure as n_had_before,
        count(prev_value) filter (where value is not null) over figure as n_kept
    from grid
    window figure as (partition by kpi_id, year, gender)
)

select * from standing where value is null
