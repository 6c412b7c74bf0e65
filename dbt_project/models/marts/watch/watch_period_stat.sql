-- How often a figure repeats: per figure x checked year x gender, the share of kommuner whose value
-- equals their value in the previous period (watch_kpi_period), in the checked year (share_unchanged)
-- and in each of the figure's last watch_history_periods() periods (share_unchanged_lag1 ...;
-- watch_kpi_history). The identical rule compares this year's copies with how often the figure repeats.
{%- set depth = watch_history_periods() | int %}
with numbers as (
    select numbers.*
    from {{ ref('watch_number') }} as numbers
    inner join {{ ref('watch_municipality') }} as municipalities
        on numbers.municipality_id = municipalities.municipality_id
    where municipalities.is_kommun
),

pairs as (
    select
        now.kpi_id,
        now.year,
        genders.gender,
        case genders.gender when 'T' then now.value_t when 'K' then now.value_k else now.value_m end as value,
        case genders.gender when 'T' then before.value_t when 'K' then before.value_k else before.value_m end
            as prev_value
    from numbers as now
    inner join {{ ref('watch_kpi_period') }} as periods on now.kpi_id = periods.kpi_id and now.year = periods.year
    inner join numbers as before
        on now.kpi_id = before.kpi_id and now.municipality_id = before.municipality_id
        and periods.previous_year = before.year
    cross join (values ('T'), ('K'), ('M')) as genders (gender)
),

shares as (
    select kpi_id, year, gender, avg(case when value = prev_value then 1.0 else 0.0 end) as share_unchanged
    from pairs
    where value is not null and prev_value is not null
    group by kpi_id, year, gender
),

checked as (
    select distinct history.kpi_id, history.year, genders.gender
    from {{ ref('watch_kpi_history') }} as history
    cross join (values ('T'), ('K'), ('M')) as genders (gender)
)

select
    checked.kpi_id,
    checked.year,
    checked.gender,
    share_now.share_unchanged
    {%- for lag in range(1, depth + 1) %},
    share{{ lag }}.share_unchanged as share_unchanged_lag{{ lag }}
    {%- endfor %}
from checked
left join shares as share_now
    on checked.kpi_id = share_now.kpi_id and checked.year = share_now.year and checked.gender = share_now.gender
{%- for lag in range(1, depth + 1) %}
left join {{ ref('watch_kpi_history') }} as history{{ lag }}
    on checked.kpi_id = history{{ lag }}.kpi_id and checked.year = history{{ lag }}.year
    and history{{ lag }}.lag = {{ lag }}
left join shares as share{{ lag }}
    on checked.kpi_id = share{{ lag }}.kpi_id and history{{ lag }}.hist_year = share{{ lag }}.year
    and checked.gender = share{{ lag }}.gender
{%- endfor %}
