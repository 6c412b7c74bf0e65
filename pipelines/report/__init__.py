"""The KKiK report: one document per kommun (and one per county network) from the published mart.

`source` reads the published `kkik` schema only, `model` turns its rows into what a page shows, `text`
writes the descriptive national analysis, `chart` the small SVG per figure, `render` the HTML (Jinja2,
autoescaped) and the PDF (WeasyPrint). `command` is the `kkik report` subcommand.
"""
