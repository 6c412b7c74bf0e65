{#-
  The KKiK colour rule, the one definition: the mart's colour column and the error watch's "what colour
  would this value get" both call it. `national_rank` is the rank among the kommuner with a value that
  year (ties share the best rank: SQL rank()), `n_ranked` how many they are.
  green: rank <= 0.25 * n; red: rank > 0.75 * n; yellow between; grey without a value;
  white for a figure with no direction of better (anything but higher/lower).
  n = 7: ranks 1 green (1 <= 1.75), 2-5 yellow, 6-7 red (> 5.25).
-#}
{% macro kkik_colour(value, direction, national_rank, n_ranked) -%}
    case
        when {{ value }} is null then 'grey'
        when {{ direction }} is null or {{ direction }} not in ('higher', 'lower') then 'white'
        when ({{ national_rank }}) <= 0.25 * ({{ n_ranked }}) then 'green'
        when ({{ national_rank }}) > 0.75 * ({{ n_ranked }}) then 'red'
        else 'yellow'
    end
{%- endmacro %}
