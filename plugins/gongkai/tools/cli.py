"""The editor tools as subcommands of ``python -m gongkai`` (what the Makefile runs)."""
from __future__ import annotations

import importlib

# subcommand -> module in this package with a main(argv) -> exit status
COMMANDS = {"new": "new", "import": "importer", "hooks": "hooks", "precommit": "hooks",
            "fix-encoding": "encoding"}


def run(command: str, argv: list[str]) -> int:
    module = importlib.import_module(f".{COMMANDS[command]}", __package__)
    if command == "precommit":
        return module.precommit(argv)
    return module.main(argv)
