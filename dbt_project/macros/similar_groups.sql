{#-
  Which of a kommun's similar-kommuner groups (int_similar_kommun_groups) compares a figure, the one
  definition: the group of the figure's area kind (dim_kpi.similar_group_kind) of the value's year where
  there is one, else the newest of that kind; the overall group ('övergripande', same preference) where
  Kolada has none of the kind. Candidates are the groups whose kind is in (kind, 'övergripande'); the
  first in this order wins (`qualify row_number() over (... order by {{ similar_group_order(...) }}) = 1`).
-#}
{% macro similar_group_order(group_kind, group_year, figure_kind, year) -%}
    {{ group_kind }} = {{ figure_kind }} desc,
    {{ group_year }} = {{ year }} desc,
    {{ group_year }} desc
{%- endmacro %}
