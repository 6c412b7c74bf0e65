"""Dagster assets: thin wrappers that call the plain functions in pipelines/landing and dbt."""
