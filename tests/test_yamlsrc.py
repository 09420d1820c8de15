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
