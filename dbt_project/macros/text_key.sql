{#- A published label as a join key: lower case, trimmed, runs of white space as one space, so "Bygglov"
    and " bygglov  " in two files map to the same seed row. -#}
{% macro text_key(column) -%}
    lower(trim(regexp_replace({{ column }}, '\s+', ' ', 'g')))
{%- endmacro %}
