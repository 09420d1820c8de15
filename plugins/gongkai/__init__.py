"""gongkai: Pelican plugins for 政府信息公开专栏 sites.

The pipeline of one item reads like the package:

    source.py / yamlsrc.py   read bytes and YAML (line numbers, no type guessing)
    fields.py / schema.py    validate each field by its declared kind
    units.py / site.py       the unit tree and cross-unit facts (索引号 registry)
    lifecycle.py             what is public on the as-of date
    reader.py                the Pelican readers that tie the above together
    columns.py               render the column tree, listings, guide and attachments
    build.py                 build every unit in parallel, then the portal

Pelican plugins (named in PLUGINS): ``gongkai.reader``, ``gongkai.lifecycle``,
``gongkai.columns``. Each exposes ``register()``.
"""
