{#-
  The robust spread the watch compares with, the one definition: count, median, scaled MAD (x 1.4826,
  so it estimates the standard deviation of the normal bulk) and quartiles, with DuckDB's own
  aggregates. `scale` is the scaled MAD, or the interquartile range / 1.349 where the MAD is 0 (more
  than half the values equal), or null when both are 0. Never mean and SD: a x100 slip would inflate
  them and hide itself.
-#}
{% macro robust_stats(x) -%}
    count({{ x }}) as n,
    median({{ x }}) as median,
    1.4826 * mad({{ x }}) as mad,
    quantile_cont({{ x }}, 0.25) as q1,
    quantile_cont({{ x }}, 0.75) as q3,
    coalesce(nullif(1.4826 * mad({{ x }}), 0), nullif((quantile_cont({{ x }}, 0.75)
        - quantile_cont({{ x }}, 0.25)) / 1.349, 0)) as scale
{%- endmacro %}

{#- The scales the watch compares on: the value itself, log10 (kronor: twice and half the median are
    equally far out) and log(1 + x) (days and counts, which can be 0). Non-positive values have no log. -#}
{% macro watch_measures(value) -%}
    {{ value }} as value,
    case when {{ value }} > 0 then log10({{ value }}) end as log10,
    case when {{ value }} > -1 then ln(1 + {{ value }}) end as log1p
{%- endmacro %}

{#- The years the watch models cover: var('watch_years') (the checked years and their history), or all. -#}
{% macro watch_years_filter(year_column) -%}
    {%- set years = var('watch_years', []) -%}
    {%- if years | length > 0 -%}
        {{ year_column }} in ({{ years | join(', ') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- How many earlier periods of each checked cell the watch models hold (the rules' history_periods may not
    exceed it): var('watch_history_periods'), 5 unless set. -#}
{% macro watch_history_periods() -%}
    {{ var('watch_history_periods', 5) | int }}
{%- endmacro %}
