"""政府信息公开工作年度报告 (DESIGN §12): the national format of 国办公开办函〔2021〕30号 as data.

    spec.py      the format itself, read from catalogs/annual.yaml (rows, columns, blocks)
    model.py     read and validate one report's data (one validator per value kind)
    rules.py     pure arithmetic of the format (勾稽关系) and the comparisons, as findings
    series.py    facts across reports and items: last year's report, the unit's own
                 规章/规范性文件 counts on 31 December (from lifecycle), deadlines, roll-ups
    plugin.py    Pelican plugin: the report page, CSV/JSON downloads, the roll-up
    portal.py    the portal's page of every unit's report for each year
    prefill.py   ``python -m gongkai annual-report``: a new report file prefilled from the site
"""
