-- The kind of every Kolada figure, read from Kolada's own metadata (the unit words Kolada writes at the
-- end of a title: "andel (%)", "antal", "kr/inv", "dagar", "index", "förändring", "per 1 000 inv"), so
-- that the error watch can check any Kolada figure the KKiK catalogue does not describe (RE2 regexes:
-- \b is ASCII-only, so a Swedish word start is written (^|[ ,(-]); "undersökning" holds "ökning"):
--   signed   a change, a result, a net amount or a deviation: can be negative (checked first:
--            "Nettokostnadsavvikelse, kr/inv" and "Verksamhetens resultat, andel (%)" are signed although
--            they name kr or %; a net cost, "Generella statsbidrag och utjämning" and a self-financing rate
--            are negative in real Kolada values)
--   count    a number of something (", antal" at the end wins over a "%" in the title: "Deltidsanställda
--            (1-99 %) månadsavlönade, kommun, antal"), or a rate per inhabitants, a length, a power (never
--            negative)
--   ratio    a quotient or a rate in per cent that is not a share of a whole (försörjningskvot,
--            kassalikviditet, "kvinnors andel av männens lönesumma"): never negative, but can pass 100
--   percent  a share 0-100 ("andel" as a whole word: "dagligvaruhandel" and "misshandel" hold "andel")
--   kr       an amount (also tkr, mnkr, mkr);  days  a duration;  index  an index or a mean score;
--   unknown  none of these words: the watch runs its statistical rules only, and says so.
-- is_additive: a plain count (", antal"): the total must equal women + men, not lie between them.
-- collection_method, read from Kolada's description (the catalogue's own value wins for KKiK figures):
--   municipality_reported  "Källa: egen undersökning i kommunen" (the kommun's own count, like U23401)
--   external_survey        people answered a survey ("svarat", "svarande", a brukar-, medborgar-, elev-,
--                          medarbetar- or patient survey, an urvalsundersökning): the total also counts
--                          respondents who did not state their sex, so it may lie outside women-men (the
--                          watch's gender.total_between is a warning there, not an error)
--   read_from_source       anything else: a register (SCB, Skolverket, Socialstyrelsen …)
with kpis as (
    select kpi_id, title, lower(title) as t, lower(coalesce(description, '')) as d
    from {{ ref('int_kolada_kpis_latest') }}
)

select
    kpi_id,
    title,
    case
        when regexp_matches(t, 'förändring|avvikelse|överskott|underskott|differens|netto|utjämning|'
            || '(^|[ ,(-])(ökning|minskning)|årets resultat|verksamhetens resultat|resultat före|resultat efter|'
            || 'soliditet|självfinansiering|resultaträkning|avskrivning|extraordinär|lönegap|'
            || 'verksamhetens kostnader|saldo')
            then 'signed'
        when regexp_matches(t, ', antal$|, antal \(') then 'count'
        when regexp_matches(t, 'kvot|likviditet|andel av männens|andel av kvinnornas') then 'ratio'
        when regexp_matches(t, '\(%\)|(^|[ ,(-])andel([ ,)]|$)|procent|%$') then 'percent'
        when regexp_matches(t, '\bkr\b|kr/|kronor|tkr|mnkr|\bmkr\b') then 'kr'
        when regexp_matches(t, 'dagar|dygn|väntetid|veckor|månader') then 'days'
        when regexp_matches(t, 'index|\bnki\b|\bnmi\b|\bhme\b|betygspoäng|meritvärde') then 'index'
        when regexp_matches(t, 'antal|per 1 ?000|/1 ?000|/100 ?000|/inv|genomsnitt|\bton\b|\bkg\b|kvm|'
            || '\bm2\b|ja=1|meter|\bkm\b|\bmw\b|\bmwh\b|\bgwh\b|hektar') then 'count'
        else 'unknown'
    end as unit,
    -- a number of people or things ("…, antal"), not a rate or a mean: its total is women + men
    regexp_matches(t, ', antal$|, antal \(') and not regexp_matches(t, 'förändring|netto|/|per 1|genomsnitt|medel')
        as is_additive,
    case
        when regexp_matches(d, 'egen undersökning i kommunen') then 'municipality_reported'
        when regexp_matches(d, 'svarat|svarande|urvalsundersökning|medborgarundersökning|brukarundersökning|'
            || 'undersökningen av|elevenkät|medarbetarenkät|skolenkät|patientenkät|enkätundersökning')
            then 'external_survey'
        else 'read_from_source'
    end as collection_method
from kpis
