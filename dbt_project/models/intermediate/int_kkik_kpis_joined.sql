-- The KKiK key figures: the staff-edited catalogue joined to Kolada's metadata.
-- The KKiK report year of a value is its period plus an offset: a figure is shown "in the column of the
-- year it was released". Kolada says when the period `publ_period` is published (`publication_date`):
-- released the year after its period -> offset 1, in the same year -> 0. The offset is clamped to 0..1
-- (Kolada's next publication can lie two years after an old period while a new one is pending) and the
-- catalogue's `kkik_year_offset` overrides it where staff know better.
with catalogue as (
    select * from {{ ref('kkik_catalogue') }}
),

kolada_kpis as (
    select * from {{ ref('int_kolada_kpis_latest') }}
),

joined as (
    select
        catalogue.kpi_id,
        coalesce(kolada_kpis.title, catalogue.title) as title,
        kolada_kpis.description,
        catalogue.area,
        catalogue.category,
        catalogue.direction,
        catalogue.unit,
        catalogue.collection_method,
        catalogue.source_agency,
        catalogue.population,
        kolada_kpis.auspice,
        kolada_kpis.operating_area,
        coalesce(kolada_kpis.is_divided_by_gender, false) as is_divided_by_gender,
        kolada_kpis.publ_period,
        kolada_kpis.publication_date,
        catalogue.first_kkik_year,
        catalogue.last_kkik_year,
        cast(coalesce(
            catalogue.kkik_year_offset,
            least(greatest(year(kolada_kpis.publication_date) - kolada_kpis.publ_period, 0), 1),
            1
        ) as integer) as kkik_year_offset,
        catalogue.kkik_year_offset is not null as is_kkik_year_offset_overridden,
        kolada_kpis.kpi_id is not null as is_in_kolada_catalogue,
        catalogue.evidence
    from catalogue
    left join kolada_kpis on catalogue.kpi_id = kolada_kpis.kpi_id
)

select * from joined
