"""The data-error watch: rules as data (``expectations/rules.yml``) checked against KKiK values.

Public API::

    rules = load_rules()                       # RuleSet from expectations/rules.yml
    flags = run_watch(values, kpis, municipalities, rules, years=[2022])

One module per rule group (range, gender, year_over_year, identical, outlier, missing, definition,
integrity); ``warehouse`` runs the dbt models and macros the rules read (the colour rule among them) and
``flags`` writes the message, contact and impact score.
"""

from pipelines.quality.flags import FLAG_COLUMNS
from pipelines.quality.rules import Rule, RuleError, RuleSet, load_rules
from pipelines.quality.watch import run_watch

__all__ = ["FLAG_COLUMNS", "Rule", "RuleError", "RuleSet", "load_rules", "run_watch"]
