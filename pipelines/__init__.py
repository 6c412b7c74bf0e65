"""The KKiK pipeline: source clients, raw landing, dbt mart and data-error watch, orchestrated by Dagster."""
