-- Every figure the warehouse knows: the staff-edited KKiK catalogue (is_kkik) united with every figure in
-- Kolada's KPI metadata, joined to that metadata. For a KKiK figure the catalogue's attributes win (unit,
-- direction, area …); a figure outside the catalogue has Kolada's metadata only, its unit (kind) read from
-- its title by int_kolada_kpi_kinds, no direction of better ('none': never coloured) and the collection
-- method Kolada's description names (int_kolada_kpi_kinds: a survey, the kommun's own count, or a register;
-- 'read_from_source' when there is no description). kkik_result and the report keep to is_kkik; fct_kpi_value and the watch
-- take every figure.
-- The KKiK report year of a value is its period plus an offset: a figure is shown "in the column of the
-- year it was released". Kolada says when the period `publ_period` is published (`publication_date`):
-- released the year after its period -> offset 1, in the same year -> 0. The offset is clamped to 0..1
-- (Kolada's next publication can lie two years after an old period while a new one is pending) and the
-- catalogue's `kkik_year_offset` overrides it where staff know better. Without publication metadata (the
-- figure is not in Kolada's catalogue, or Kolada gives no `publ_period`) the offset is 1: the usual case of a
-- figure released the year after its period. (`greatest` ignores NULLs in DuckDB, so the derivation must
-- be NULL explicitly when either field is missing, or the fallback never applies.)
-- Similar kommuner: the Kolada group kind of the figure's area (`similar_group_kinds` seed: a row for the
-- figure itself wins over the row for its Kolada operating area; neither: the overall group).
with kkik_catalogue as (
    select * from {{ ref('kkik_catalogue') }}
),

kolada_kinds as (
    select * from {{ ref('int_kolada_kpi_kinds') }}
),

-- the catalogue's rows, and a bare row for every other Kolada figure
catalogue as (
    select *, true as is_kkik from kkik_catalogue
    union all by name
    select kolada_kinds.kpi_id, false as is_kkik
    from kolada_kinds
    anti join kkik_catalogue on kolada_kinds.kpi_id = kkik_catalogue.kpi_id
),

kolada_kpis as (
    select * from {{ ref('int_kolada_kpis_latest') }}
),

group_kinds as (
    select * from {{ ref('similar_group_kinds') }}
),

joined as (
    select
        catalogue.kpi_id,
        coalesce(kolada_kpis.title, catalogue.title) as title,
        kolada_kpis.description,
        catalogue.is_kkik,
        catalogue.area,
        catalogue.category,
        coalesce(catalogue.direction, 'none') as direction,
        coalesce(catalogue.unit, kolada_kinds.unit) as unit,
        -- no KKiK figure is a plain count of people (rules.yml's additive_kpis lists exceptions)
        coalesce(not catalogue.is_kkik and kolada_kinds.is_additive, false) as is_additive,
        coalesce(catalogue.collection_method, kolada_kinds.collection_method, 'read_from_source')
            as collection_method,
        catalogue.source_agency,
        catalogue.population,
        kolada_kpis.auspice,
        kolada_kpis.operating_area,
        coalesce(kolada_kpis.is_divided_by_gender, false) as is_divided_by_gender,
        kolada_kpis.municipality_type,
        kolada_kpis.perspective,
        kolada_kpis.has_ou_data,
        kolada_kpis.publ_period,
        kolada_kpis.prel_publication_date,
        kolada_kpis.publication_date,
        catalogue.first_kkik_year,
        catalogue.last_kkik_year,
        cast(coalesce(
            catalogue.kkik_year_offset,
            case
                when kolada_kpis.publication_date is not null and kolada_kpis.publ_period is not null
                    then least(greatest(year(kolada_kpis.publication_date) - kolada_kpis.publ_period, 0), 1)
            end,
            1
        ) as integer) as kkik_year_offset,
        catalogue.kkik_year_offset is not null as is_kkik_year_offset_overridden,
        coalesce(kpi_group_kinds.similar_group_kind, area_group_kinds.similar_group_kind, 'övergripande')
            as similar_group_kind,
        kolada_kpis.kpi_id is not null as is_in_kolada_catalogue,
        catalogue.evidence
    from catalogue
    left join kolada_kpis on catalogue.kpi_id = kolada_kpis.kpi_id
    left join kolada_kinds on catalogue.kpi_id = kolada_kinds.kpi_id
    left join group_kinds as kpi_group_kinds on catalogue.kpi_id = kpi_group_kinds.kpi_id
    left join group_kinds as area_group_kinds
        on kolada_kpis.operating_area = area_group_kinds.operating_area
        and area_group_kinds.kpi_id is null
)

select * from joined
