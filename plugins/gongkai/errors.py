"""Problems found in content, and how they are printed.

Every problem names the file, the line where known, the field with its Chinese
label, and what was expected against what was found. Problems are collected, never
raised one by one, so an editor sees all of them in one run.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int | None
    field: str | None
    message: str
    label: str | None = None
    rule: str = "content"
    severity: str = "error"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.severity != "error":
            where = f"{where}: {self.severity}"
        if self.field:
            name = f"{self.field} ({self.label})" if self.label else self.field
            return f"{where}: {name}: {self.message}"
        return f"{where}: {self.message}"


class FieldError(ValueError):
    """Raised by a field validator; the caller adds file, line and field."""

    def __init__(self, message: str, subpath: tuple = ()):
        super().__init__(message)
        self.message = message
        # Where inside a list or mapping value the problem is, for the line number.
        self.subpath = subpath


class ContentError(Exception):
    """Raised when content has problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def _sort_key(p: Problem):
    return (p.path, p.line or 0, p.field or "", p.message)


def summary(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    files = {p.path for p in errors}
    warnings = len(problems) - len(errors)
    return f"{len(errors)} error(s) in {len(files)} file(s)" + (f", {warnings} warning(s)" if warnings else "")


def sort(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=_sort_key)
