"""gongkai: Pelican plugins for 政府信息公开专栏 sites.

The pipeline of one item reads like the package:

    source.py / yamlsrc.py   read bytes and YAML (line numbers, no type guessing)
    fields.py / schema.py    validate each field by its declared kind
    images.py / fiscal.py    check body images and structured fiscal data
    units.py / site.py       the unit tree and cross-unit facts (索引号 registry)
    lifecycle.py             the state of each item on the as-of date
    facts.py                 every fact of one build, computed once (states, registry,
                             reverse links): what render, search, check and annual read
    reader.py / render.py    the Pelican readers; Markdown rendered and sanitized
    columns.py               render the column tree, listings, guide, 政策问答, attachments
    fiscal_plugin.py         render 预决算 / 三公 tables, charts (charts.py), downloads
    build.py                 build every unit in parallel, then the portal
    interpretation.py        pure rules for the checker: interpretation timeliness
    annual/                  政府信息公开工作年度报告 as data: format, checks, page, roll-up, prefill
    search/                  the search index per unit, search pages, tokenizer, 简繁 map

Pelican plugins (named in PLUGINS): ``gongkai.reader``, ``gongkai.lifecycle``,
``gongkai.columns``, ``gongkai.fiscal_plugin``, ``gongkai.annual.plugin``, ``gongkai.search``,
``gongkai.feeds``. Each exposes ``register()``.

Settings each unit's build receives from build.py (read once for all units):
GK_UNIT, GK_UNITS (the unit tree), GK_REGISTRY (public items of every unit by
索引号), GK_PUBLIC_ON (when each 索引号 becomes public), GK_SANGONG (public 三公
figures), GK_ANNUAL (public 年报 figures and warnings), GK_AS_OF, GK_CATALOGS.
"""
