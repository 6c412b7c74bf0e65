{#- Whether kkik_audit is whole: every dbt invocation on the project marks its start and its end in
    kkik_audit.dbt_build_state (one row: the invocation, when, building / built / failed). A build that was
    interrupted (Ctrl-C, a killed process) never reaches on-run-end and stays "building"; one where a model
    or test failed, or was skipped after a failure, ends "failed". The publish step publishes only a mart
    whose last build ended "built" (pipelines/quality/publish.py, check_mart_built). -#}

{% macro kkik_build_started() %}
create schema if not exists kkik_audit;
create or replace table kkik_audit.dbt_build_state as
select
    '{{ invocation_id }}' as invocation_id,
    current_timestamp as started_at,
    cast(null as timestamptz) as finished_at,
    'building' as status
{% endmacro %}

{% macro kkik_build_finished(results) %}
{%- set broken = results | selectattr('status', 'in', ['error', 'fail', 'runtime error', 'skipped']) | list -%}
update kkik_audit.dbt_build_state
set finished_at = current_timestamp, status = '{{ "failed" if broken else "built" }}'
where invocation_id = '{{ invocation_id }}'
{% endmacro %}
