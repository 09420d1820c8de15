"""Editor tools (DESIGN §13): ``make new``, ``make import``, ``make hooks`` and
``make fix-encoding``, and the progress line of long runs.

Each tool is one module with a ``main(argv)``; ``cli.py`` dispatches the
subcommands of ``python -m gongkai`` to them. The 公文 extraction rules are pure
functions in ``gongwen.py``.
"""
