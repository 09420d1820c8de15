"""Permalink ids derived from text, so that reordering never breaks a shared link."""
from __future__ import annotations

import hashlib
import re


def qa_anchor(question: str) -> str:
    """Stable id of a question: whitespace and end punctuation do not count."""
    norm = re.sub(r"\s+", "", question).rstrip("？?。.！!")
    return "q-" + hashlib.sha1(norm.encode("utf-8")).hexdigest()[:8]
