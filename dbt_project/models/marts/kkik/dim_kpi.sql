-- Every figure: the KKiK catalogue's (is_kkik) and every other figure in Kolada's KPI metadata.
with kpis as (
    select * from {{ ref('int_kpis_all') }}
),

final as (
    select
        kpi_id,
        is_kkik,
        title,
        area,
        category,
        direction,
        unit,
        is_additive,
        source_agency,
        collection_method,
        is_divided_by_gender,
        description as definition,
        population,
        auspice,
        operating_area,
        municipality_type,
        perspective,
        has_ou_data,
        publ_period,
        prel_publication_date,
        publication_date,
        first_kkik_year,
        last_kkik_year,
        kkik_year_offset,
        is_in_kolada_catalogue,
        evidence,
        similar_group_kind
    from kpis
)

select * from final
