"""The YAML loader keeps line numbers and never guesses types."""
import pytest

from gongkai import yamlsrc


def test_scalars_stay_text_as_written():
    doc = yamlsrc.load("org_code: 014046317\ndoc_number: 2020\nvalidity: 有效\ndraft: no\nn: 1.50\n")
    assert doc.data == {"org_code": "014046317", "doc_number": "2020", "validity": "有效",
                        "draft": "no", "n": "1.50"}


def test_plain_empty_and_null_are_none_but_quoted_are_text():
    doc = yamlsrc.load("a:\nb: ~\nc: null\nd: ''\ne: 'null'\n")
    assert doc.data == {"a": None, "b": None, "c": None, "d": "", "e": "null"}


def test_lines_of_keys_and_list_items_count_from_first_line():
    doc = yamlsrc.load("title: x\nkeywords:\n  - a\n  - b\nguide:\n  phone: 1\n", first_line=2)
    assert doc.line("title") == 2
    assert doc.line("keywords", 1) == 5
    assert doc.line("guide", "phone") == 7
    assert doc.line("missing") == 2  # falls back to the document start


def test_duplicate_key_is_an_error_with_both_lines():
    with pytest.raises(yamlsrc.YamlError) as err:
        yamlsrc.load("title: a\nx: 1\ntitle: b\n", first_line=2)
    assert err.value.line == 4
    assert err.value.message == "duplicate key 'title' (first on line 2)"


def test_syntax_error_reports_the_file_line():
    with pytest.raises(yamlsrc.YamlError) as err:
        yamlsrc.load("title: a\nkeywords: [a, b\npublished: 2024-01-01\n", first_line=2)
    assert err.value.line is not None and err.value.line >= 3
    assert err.value.message.startswith("invalid YAML:")


# --- the flat fast path (yamlsrc.flat) is the full parser's answer, or no answer -------

_PIECES = ["title", "index_no", "keywords", "a-b", "x", "_k", "标题", " ", "  ", ": ", ":", "：", "-", "- ", "?", ",",
           "[", "]", "{", "}", "#", " #", "&a", "*a", "!", "|", ">", "'", '"', "%", "@", "`", "~", "null", "Null",
           "\t", "\\", "/", "〔2020〕", "关于", "政务公开", "001000001/2012-00002", "2024-01-02", "...", "---",
           "\x85", "\u2028", "\ufeff", "\x07", "\xa0", "𠀀", "=", "<<", "yes", "0x1F", "…"]


def _random_doc(rng) -> str:
    out = []
    for _ in range(rng.randint(0, 6)):
        shape = rng.random()
        if shape < 0.08:
            out.append("")
        elif shape < 0.2:   # anything at all
            out.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6))))
        else:
            key = rng.choice(["title", "keywords", "a", "topic", "b_c", "x-y", "title"])
            if rng.random() < 0.3:
                items = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 2))) for _ in range(rng.randint(0, 3))]
                value = "[" + rng.choice([",", ", ", " , "]).join(items) + "]"
            else:
                value = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 4)))
            out.append(f"{key}:{rng.choice([' ', '  ', ''])}{value}")
    return "\n".join(out) + rng.choice(["", "\n", "\n\n"])


def test_the_flat_reader_gives_what_the_full_parser_gives_or_nothing():
    import random
    rng = random.Random(15)
    answered = 0
    for _ in range(60000):
        text = _random_doc(rng)
        fast = yamlsrc.flat(text, first_line=3)
        if fast is None:
            continue
        answered += 1
        try:
            slow = yamlsrc.full(text, first_line=3)
        except yamlsrc.YamlError as exc:
            raise AssertionError(f"flat read {text!r}, the full parser refuses it: {exc}") from None
        assert (fast.data, list(fast.lines.items()), fast.block_scalars) == \
            (slow.data, list(slow.lines.items()), slow.block_scalars), repr(text)
    assert answered > 3000   # the fast path is exercised, not only refused


def test_the_flat_reader_takes_typical_front_matter_and_leaves_the_rest():
    front = ("title: 关于印发《示例县政务公开工作要点》的通知\nindex_no: 001000001/2012-00002\nwritten: 2012-07-02\n"
             "topic: 卫生、体育\\卫生\nkeywords: [意见, 生态环境局]\ndoc_number: 苏办发[2013]45号\nvalid_until:\n")
    doc = yamlsrc.flat(front, first_line=2)
    assert doc is not None and doc.data == yamlsrc.full(front, first_line=2).data
    assert doc.data["keywords"] == ["意见", "生态环境局"] and doc.data["valid_until"] is None
    assert doc.line("keywords", 1) == 6
    for other in ("title: 'quoted'\n", "keywords:\n  - a\n", "title: a # note\n", "a: 1\na: 2\n", "genre：通知\n",
                  "time: 9:00\n", "title: &x a\n", "body: |\n  text\n", "- a\n", "", "\n"):
        assert yamlsrc.flat(other) is None, other
