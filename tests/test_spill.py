"""spool.Spill, the unnamed file the build's stages keep values in (facts.Early, check.Ahead,
the checker's FindingsSpool): a value is kept whole or not at all."""
from __future__ import annotations

import os

import pytest

from gongkai import spool


def test_values_come_back_as_kept(tmp_path):
    spill = spool.Spill(tmp_path)
    at = [spill.put({"n": n, "text": "公开" * n}) for n in range(5)]
    assert [spill.get(a) for a in reversed(at)] == [{"n": n, "text": "公开" * n} for n in reversed(range(5))]
    assert list(tmp_path.iterdir()) == []     # unnamed: nothing to find or leave behind
    spill.close()


def test_a_short_write_is_a_full_disk_not_a_damaged_value(tmp_path, monkeypatch):
    """The disk fills in the middle of a value: os.pwrite writes part of it, then refuses.
    ``put`` raises OSError (its callers' full-disk path) and the values kept before are whole."""
    spill = spool.Spill(tmp_path)
    first = spill.put(list(range(1000)))
    real = os.pwrite
    room = [10]

    def filling(fd, data, offset):
        if not room[0]:
            raise OSError(28, "No space left on device")
        n = min(len(data), room[0])
        room[0] -= n
        return real(fd, bytes(data)[:n], offset)

    monkeypatch.setattr(spool.os, "pwrite", filling)
    with pytest.raises(OSError):
        spill.put(list(range(1000, 2000)))
    monkeypatch.undo()
    assert spill.get(first) == list(range(1000))
    later = spill.put("after")       # space again: the next value is kept where the cut one stood
    assert spill.get(later) == "after" and spill.get(first) == list(range(1000))
    spill.close()


def test_a_write_of_nothing_is_a_full_disk(tmp_path, monkeypatch):
    spill = spool.Spill(tmp_path)
    monkeypatch.setattr(spool.os, "pwrite", lambda fd, data, offset: 0)
    with pytest.raises(OSError):
        spill.put("x")
