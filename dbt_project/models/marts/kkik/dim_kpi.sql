with kkik_kpis as (
    select * from {{ ref('int_kkik_kpis_joined') }}
),

final as (
    select
        kpi_id,
        title,
        area,
        category,
        direction,
        unit,
        source_agency,
        collection_method,
        is_divided_by_gender,
        description as definition,
        population,
        auspice,
        operating_area,
        first_kkik_year,
        last_kkik_year,
        kkik_year_offset,
        is_in_kolada_catalogue,
        evidence,
        similar_group_kind
    from kkik_kpis
)

select * from final
