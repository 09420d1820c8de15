"""One validator per kind of value: each error says what was expected and what was got."""
import datetime as dt

import pytest

from gongkai.errors import FieldError
from gongkai.fields import (
    Attachments,
    Bool,
    Choice,
    ColumnId,
    Ctx,
    Date,
    DocNumber,
    IndexNo,
    IndexRef,
    ListOf,
    QAList,
    Text,
)


@pytest.fixture
def ctx(cats, county):
    return Ctx(cats, county, county.folder)


def message(kind, raw, ctx):
    with pytest.raises(FieldError) as err:
        kind(raw, ctx)
    return err.value.message


def test_date_accepts_iso_and_rejects_impossible_dates(ctx):
    assert Date()("2024-02-29", ctx) == dt.date(2024, 2, 29)
    assert message(Date(), "2024-13-01", ctx) == "expected a date YYYY-MM-DD, got '2024-13-01'"
    assert message(Date(), "2024/07/01", ctx) == "expected a date YYYY-MM-DD, got '2024/07/01'"
    assert message(Date(), ["2024-01-01"], ctx) == "expected a date YYYY-MM-DD, got a list"


def test_datetime_allows_time_only_when_asked(ctx):
    assert Date(allow_time=True)("2025-06-01 10:30", ctx) == dt.datetime(2025, 6, 1, 10, 30)
    assert Date(allow_time=True)("2025-06-01", ctx) == dt.datetime(2025, 6, 1)
    assert "got '2025-06-01 10:30'" in message(Date(), "2025-06-01 10:30", ctx)


def test_bool_is_only_true_or_false(ctx):
    assert Bool()("true", ctx) is True and Bool()("False", ctx) is False
    assert message(Bool(), "yes", ctx) == "expected true or false, got 'yes'"


def test_choice_lists_values_and_suggests(ctx):
    assert Choice("validity")("有效", ctx) == "有效"
    msg = message(Choice("validity"), "已废止", ctx)
    assert msg.startswith("expected one of '有效', '失效', '废止', '修订' (catalogs/vocab/validity.yaml), got '已废止'")


def test_topic_accepts_class_and_subclass(ctx):
    assert Choice("topics")("综合政务\\政务公开", ctx) == "综合政务\\政务公开"
    assert Choice("topics")("综合政务", ctx) == "综合政务"
    assert message(Choice("topics"), "综合政务\\不存在", ctx).startswith("expected a 主题分类 value (catalogs/vocab/topics.yaml), got '综合政务\\不存在'")


@pytest.mark.parametrize("raw", ["示政发[2024]3号", "示政发（2024）3号", "示政发〔2024〕第3号", "示政发〔2024〕03号",
                                 "示政发〔2024〕3", "苏办发[2013]45号", "示政發〔2024〕3號", "示政办发〔2025〕12号", "2020"])
def test_doc_number_is_published_as_issued(ctx, raw):
    # Legacy and odd forms are real 文号: they build; check/metadata.py reports them (DESIGN §4).
    assert DocNumber()(raw, ctx) == raw


def test_doc_number_may_not_be_empty(ctx):
    assert message(DocNumber(), "", ctx) == "expected text, got an empty value"


def test_index_no_follows_the_unit(ctx, county):
    assert IndexNo()("11990102MB0000003X/2025-00012", ctx)
    assert message(IndexNo(), "123/2025-1", ctx) == (
        "expected an index number 11990102MB0000003X/<YYYY>-<serial> (this unit's org_code), got '123/2025-1'")
    county.index_pattern = r"^{org_code}-\d{4}-\d{3}$"
    assert IndexNo()("11990102MB0000003X-2025-001", ctx)
    assert "index_pattern" in message(IndexNo(), "11990102MB0000003X/2025-00001", ctx)


def test_index_ref_needs_the_shape(ctx):
    assert IndexRef()("X/2024-1", ctx) == "X/2024-1"
    assert "got 'abc'" in message(IndexRef(), "abc", ctx)


def test_column_must_be_a_leaf_of_the_level(ctx):
    assert ColumnId()("gfxwj", ctx) == "gfxwj"
    assert message(ColumnId(), "zcwj", ctx).startswith("expected a column id from catalogs/columns.yaml, got 'zcwj'")
    assert "has sub-columns" in message(ColumnId(), "fdzdgknr", ctx)
    assert "does not apply to county units" in message(ColumnId(), "nync", ctx)
    assert "built from the lifecycle" in message(ColumnId(), "fzhsx", ctx)


def test_list_of_splits_text_and_points_at_the_bad_item(ctx):
    assert ListOf(Text(), split=True)("政务公开，考核、评议", ctx) == ["政务公开", "考核", "评议"]
    with pytest.raises(FieldError) as err:
        ListOf(Date())(["2024-01-01", "nope"], ctx)
    assert err.value.message == "item 2: expected a date YYYY-MM-DD, got 'nope'"
    assert err.value.subpath == (1,)


def test_text_rejects_empty_and_mappings(ctx):
    assert message(Text(), "  ", ctx) == "expected text, got an empty value"
    assert message(Text(), {"a": "b"}, ctx) == "expected text, got a mapping"
    assert message(Text(one_line=True), "a\nb", ctx) == "expected one line of text, got several lines"


def test_attachments_exist_have_known_types_and_stay_beside(ctx, county):
    (county.folder / "a.pdf").write_bytes(b"%PDF-1.4\n")
    (county.folder / "a.exe").write_bytes(b"MZ")
    [att] = Attachments()(["a.pdf"], ctx)
    assert (att.name, att.size, att.kind) == ("a.pdf", 9, "PDF")
    assert message(Attachments(), ["b.pdf"], ctx) == "item 1: file 'b.pdf' not found beside the item"
    assert message(Attachments(), ["a.exe"], ctx).startswith("item 1: expected a file of type pdf")
    assert message(Attachments(), ["../x.pdf"], ctx) == "item 1: expected a file name beside the item, got '../x.pdf'"


def test_qa_needs_q_and_a(ctx):
    [pair] = QAList()([{"q": "能申请吗？", "a": "能。"}], ctx)
    assert (pair.q, pair.a) == ("能申请吗？", "能。")
    assert message(QAList(), [{"q": "x"}], ctx) == "item 1: expected {q: …, a: …}, got keys q"
    assert message(QAList(), "x", ctx) == "expected a list of {q: question, a: answer}, got 'x'"
