"""A one-line progress report for long runs (build, check, import) on a terminal.

Shown only when stderr is a terminal, CI is not set, and the run has lasted more
than a couple of seconds; CI logs and short runs stay quiet. The line is rewritten
in place: ``构建 (build) 3/5 个单位，412 条/秒``.
"""
from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DELAY = 2.0          # seconds before the first line: short runs print nothing
INTERVAL = 0.25      # seconds between redraws


def enabled(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    if os.environ.get("CI") or os.environ.get("GONGKAI_NO_PROGRESS"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    def __init__(self, total: int, label: str, unit_name: str = "个单位", stream: TextIO | None = None,
                 clock=time.monotonic, force: bool | None = None):
        self.total, self.label, self.unit_name = total, label, unit_name
        self.stream = stream or sys.stderr
        self.clock = clock
        self.on = enabled(self.stream) if force is None else force
        self.started = clock()
        self.done_count = 0
        self.items = 0
        self.last = 0.0
        self.shown = False

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        text = f"{self.label} {self.done_count}/{self.total} {self.unit_name}"
        if self.items:
            text += f"，{self.items / elapsed:.0f} 条/秒 (items/s)"
        return text

    def step(self, items: int = 0) -> None:
        self.done_count += 1
        self.items += items
        if not self.on:
            return
        now = self.clock()
        if now - self.started < DELAY or (now - self.last < INTERVAL and self.done_count < self.total):
            return
        self.last = now
        self.shown = True
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
