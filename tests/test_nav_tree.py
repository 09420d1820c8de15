"""The side navigation (column tree) is rendered once per unit and page depth and the
current column is marked in a copy: each page must still mark exactly its own column,
with the links and counts of its own depth and unit."""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import jinja2.meta
import markupsafe
import pytest

from gongkai.columns import GK, column_save_as
from gongkai.render import add_theme_filters

ROOT = Path(__file__).resolve().parents[1]
TREE = '{% import "macros.html" as m with context %}{{ m.tree(GK.tree, current) }}'


def make_gk(cats, level: str, lists: dict | None = None) -> GK:
    tree = cats.tree_for(level)
    return GK(unit={"id": "u", "name": "示例县人民政府", "short_name": "示例县", "level": level},
              units={}, tree=tree, columns={c.id: c for c in tree.walk()}, lists=lists or {},
              labels=cats.item_labels, level_names=cats.level_names, vocab=cats.vocab, as_of="2026-11-20")


@pytest.fixture(scope="module")
def tree_template():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT / "theme" / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    add_theme_filters(env)   # macros.html's token, date and ymd filters, as every unit's environment has them
    return env.from_string(TREE)


def render(template, gk: GK, siteurl: str, current: str) -> str:
    return template.render(GK=gk, SITEURL=siteurl, current=current, RELATIVE_URLS=True, GK_SITE_ROOT="")


@pytest.mark.parametrize("level", ["county", "department"])
def test_every_page_marks_its_own_column_only(cats, tree_template, level):
    gk = make_gk(cats, level)
    columns = [c for c in gk.tree.walk() if c.id != gk.tree.id]
    assert len(columns) > 5
    unmarked = render(tree_template, gk, "..", "")
    assert "aria-current" not in unmarked
    for col in columns:  # the cached tree is reused for every column after the first
        html = render(tree_template, gk, "..", col.id)
        marked = re.findall(r'<a href="([^"]*)" aria-current="page">', html)
        assert marked == [f"../{column_save_as(col.id)}"], col.id
        assert html.replace(' aria-current="page"', "") == unmarked


def test_each_depth_gets_its_own_links(cats, tree_template):
    gk = make_gk(cats, "county")
    leaf = next(c for c in gk.tree.walk() if c.is_leaf and c.id != gk.tree.id)
    deep = render(tree_template, gk, "../..", leaf.id)
    top = render(tree_template, gk, ".", leaf.id)
    assert f'<a href="./{column_save_as(leaf.id)}" aria-current="page">' in top
    assert f'<a href="../../{column_save_as(leaf.id)}" aria-current="page">' in deep
    assert 'href="../../' not in top and 'href="./' not in deep


def test_a_column_outside_the_tree_marks_nothing(cats, tree_template):
    gk = make_gk(cats, "county")
    assert "aria-current" not in render(tree_template, gk, "..", "no-such-column")


def test_counts_are_the_units_own(cats, tree_template):
    county = make_gk(cats, "county")
    leaf = next(c for c in county.tree.walk() if c.is_leaf and not c.generated)
    other = make_gk(cats, "county", {leaf.id: ["a", "b", "c"]})
    assert '<a href="../%s">%s<span class="count"><span class="visually-hidden">（</span>3<' % (
        column_save_as(leaf.id), leaf.name) in render(tree_template, other, "..", "")
    assert '<a href="../%s">%s<span class="count"><span class="visually-hidden">（</span>0<' % (
        column_save_as(leaf.id), leaf.name) in render(tree_template, county, "..", "")


# The token and date macros of macros.html, now Python (GK.token, GK.date): the markup the
# Jinja versions made, escaped the same way.
OLD_MACROS = '''{% macro token(value, empty='—') %}
{%- if value %}{% for part in (value|string).split('/') %}<span class="tok">{{ part }}{% if not loop.last %}/{% endif %}</span>{% if not loop.last %}<wbr>{% endif %}{% endfor %}{% else %}{{ empty }}{% endif -%}
{% endmacro %}
{% macro date(value, empty='—') %}{% if value %}{% set d = value.strftime('%Y-%m-%d') %}<time class="tok" datetime="{{ d }}">{{ d }}</time>{% else %}{{ empty }}{% endif %}{% endmacro %}
{{ token(v) }}|{{ token(v, '<无>') }}|{{ date(d) }}|{{ date(d, '') }}'''


@pytest.mark.parametrize("value", ["11990102MB00000041/2026-00001", "示政发〔2026〕3号", "a<b>&/\"'/", "/", "", None,
                                   "x//y"])
def test_token_and_date_render_as_the_macros_did(value):
    import datetime as dt
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    for day in (dt.date(2026, 1, 2), None):
        want = env.from_string(OLD_MACROS).render(v=value, d=day)
        got = f"{GK.token(value)}|{GK.token(value, '<无>')}|{GK.date(day)}|{GK.date(day, '')}"
        assert got == want


def test_macros_read_no_page_variable():
    # GK.macros() builds macros.html once per unit and SITEURL, from the context of the first
    # page that asks: a macro reading a page's own variable (item, article, page_kind …) would
    # show that first page's value on every page. Page data must come in as arguments.
    source = (ROOT / "theme/templates/macros.html").read_text(encoding="utf-8")
    env = jinja2.Environment()
    add_theme_filters(env)   # (jinja2.meta compiles the template: its filters must be known)
    free = jinja2.meta.find_undeclared_variables(env.parse(source))
    # f and n: names {% set %} inside an {% if %} of a macro, which jinja2.meta lists as free;
    # THEME_STATIC_DIR: a setting, the same on every page (head_end's stylesheet links)
    assert free <= {"GK", "GK_SITE_ROOT", "RELATIVE_URLS", "SITEURL", "THEME_STATIC_DIR", "f", "n"}, free


def test_pages_use_the_macros_built_once_per_unit_never_their_own_import():
    # The check above holds only if every page takes macros.html from GK.macros() (base.html's
    # ``m``): a template importing it ``with context`` itself builds it again on every page
    # (annual.html and wzdt.html did). No template but base.html names macros.html, and every
    # template that reads ``m`` extends base.html.
    from jinja2 import nodes
    env = jinja2.Environment()
    add_theme_filters(env)
    importing, uses, reads_m = [], {}, []    # uses: template -> those it extends or includes
    for path in sorted((ROOT / "theme/templates").glob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for node in tree.find_all((nodes.Import, nodes.FromImport, nodes.Include)):
            if isinstance(node.template, nodes.Const) and node.template.value == "macros.html":
                importing.append(path.name)
        for node in tree.find_all((nodes.Extends, nodes.Include)):
            if isinstance(node.template, nodes.Const):
                uses.setdefault(node.template.value, set())
                uses[path.name] = uses.get(path.name, set()) | {(type(node).__name__, node.template.value)}
        if "m" in jinja2.meta.find_undeclared_variables(tree) and path.name != "base.html":
            reads_m.append(path.name)

    def under_base(name: str, seen: frozenset = frozenset()) -> bool:
        # base.html sets m: a template has it when base.html is in its extends chain, or
        # when it is included by a template that has it (an include shares the context).
        if name == "base.html":
            return True
        if any(kind == "Extends" for kind, _ in uses.get(name, ())):
            return any(under_base(t, seen | {name}) for kind, t in uses[name] if kind == "Extends" and t not in seen)
        return any(under_base(by, seen | {name}) for by, links in uses.items()
                   if ("Include", name) in links and by not in seen)

    assert importing == [], importing
    assert reads_m and [n for n in reads_m if not under_base(n)] == []


@pytest.mark.parametrize("siteurl", ["..", ".", "../..", "https://example.gov.cn/a&b/\"x\"", ""])
def test_base_html_marks_its_column_as_the_tree_macro_did(cats, tree_template, siteurl):
    # base.html calls GK.nav_tree with the column id (two macro calls fewer a page): the link
    # it marks is the one the col_href macro writes, SITEURL escaped the same way, and the
    # page is what the tree macro made when it passed nav_tree col_href's output.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT / "theme" / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    add_theme_filters(env)
    col_href = env.from_string('{% import "macros.html" as m with context %}{{ m.col_href(c) }}')
    gk = make_gk(cats, "county")
    unmarked = render(tree_template, gk, siteurl, "")
    for col in [c for c in gk.tree.walk() if c.id != gk.tree.id]:
        href = col_href.render(GK=gk, SITEURL=siteurl, c=col.id, RELATIVE_URLS=True, GK_SITE_ROOT="")
        assert gk.col_href(siteurl, col.id) == href
        old = unmarked.replace(f'<a href="{href}">', f'<a href="{href}" aria-current="page">', 1)
        html = render(tree_template, gk, siteurl, col.id)
        assert html == old and html.count('aria-current="page"') == 1, col.id


def test_unit_and_labels_answer_attribute_lookups_as_a_dict_does(cats):
    """GK.unit and GK.labels are read as ``x.key`` on every page; Jinja tries getattr first,
    and a dict's failed getattr cost ~0.5 µs a lookup. Their keys are attributes now, and
    every lookup a template can make gives what it gave on the plain dict."""
    import copy
    import pickle

    gk = make_gk(cats, "county")
    plain_labels = dict(cats.item_labels)
    plain_unit = {"id": "u", "name": "示例县人民政府", "short_name": "示例县", "level": "county"}
    env = jinja2.Environment(autoescape=True)
    names = [*plain_labels, *plain_unit, "items", "keys", "get", "copy", "values", "no_such_key", "1x"]
    for fields, plain in ((gk.labels, plain_labels), (gk.unit, plain_unit)):
        assert fields == plain
        for key in plain:
            if key.isidentifier() and not hasattr(dict, key):
                assert getattr(fields, key) is plain[key]      # found at once, no AttributeError
        for name in names:
            want, got = env.getattr(plain, name), env.getattr(fields, name)
            if isinstance(want, jinja2.Undefined):
                assert isinstance(got, jinja2.Undefined)
            elif callable(want):
                assert got.__name__ == want.__name__           # dict's own method, as before
            else:
                assert got is want
        assert env.from_string("{{ x.index_no }}|{{ x['name'] }}|{{ x.items is defined }}|{{ x.nope }}").render(
            x=fields) == env.from_string("{{ x.index_no }}|{{ x['name'] }}|{{ x.items is defined }}|{{ x.nope }}").render(
            x=plain)
        with pytest.raises(TypeError):
            fields["name"] = "changed"
        with pytest.raises(TypeError):
            fields.update(name="changed")
        again = pickle.loads(pickle.dumps(fields))
        assert again == fields and type(again) is type(fields) and vars(again) == vars(fields)
        assert copy.deepcopy(fields) == fields


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        return ("ValueError", str(exc))


def test_template_strftime_is_pelicans_without_its_regex(monkeypatch):
    """GK.strftime and GK.date give what ``value.strftime(fmt)`` gives (Pelican's
    SafeDatetime strftime: each directive alone, "%-d" zero stripping, unknown directives
    kept as text), and for a plain format never run Pelican's per-directive strftime."""
    import datetime as dt
    import random
    import zoneinfo

    import pelican.utils
    from pelican.utils import SafeDatetime

    from gongkai import columns

    rng = random.Random(15)
    pieces = ["%Y", "%m", "%d", "%H", "%M", "%S", "%a", "%b", "%j", "%y", "%%", "%-d", "%-m", "%e", "%Q", "-", " ",
              "年", "月", "日", ":", "T", "%z", "%Z", "%f", "%"]
    zones = [None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=8)), zoneinfo.ZoneInfo("Asia/Shanghai")]
    for _ in range(3000):
        fmt = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        value = SafeDatetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                             rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999999), tzinfo=rng.choice(zones))
        for v in (value, value.date(), dt.datetime(*value.timetuple()[:6])):
            assert _outcome(columns.strftime, v, fmt) == _outcome(type(v).strftime, v, fmt), (v, fmt)
            assert _outcome(GK.strftime, v, fmt) == _outcome(type(v).strftime, v, fmt)
    called = []
    real = pelican.utils.strftime
    monkeypatch.setattr(pelican.utils, "strftime", lambda *a: called.append(a) or real(*a))
    day = SafeDatetime(2026, 1, 2, 3, 4)
    assert GK.strftime(day, "%Y-%m-%d %H:%M") == "2026-01-02 03:04"
    assert str(GK.date(day)) == '<time class="tok" datetime="2026-01-02">2026-01-02</time>'
    assert not called
    assert GK.strftime(day, "%-d日") == "2日" and called


def test_theme_dates_and_tokens_are_put_together_without_strftime_or_escape(monkeypatch):
    """The two date formats the theme uses ("%Y-%m-%d", "%Y-%m-%d %H:%M") are made from the
    date's fields, and a token with nothing to escape is made without escaping its parts:
    the same strings as strftime and the escaping path, on random dates (years 1–9999, naive
    and aware, date and datetime) and tokens, without calling either for the usual ones."""
    import datetime as dt
    import random
    import zoneinfo

    from pelican.utils import SafeDatetime

    from gongkai import columns

    rng = random.Random(16)
    zones = [None, dt.timezone.utc, zoneinfo.ZoneInfo("Asia/Shanghai")]
    for _ in range(3000):
        value = SafeDatetime(rng.choice([rng.randint(1, 999), rng.randint(1000, 9999)]), rng.randint(1, 12),
                             rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), tzinfo=rng.choice(zones))
        for v in (value, value.date(), dt.datetime(*value.timetuple()[:6])):
            for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M"):
                assert columns.strftime(v, fmt) == type(v).strftime(v, fmt), (v, fmt)
            d = type(v).strftime(v, "%Y-%m-%d")
            assert str(GK.date(v)) == f'<time class="tok" datetime="{d}">{d}</time>'
    alphabet = ["a", "7", "/", "号", "〔", "&", "<", ">", '"', "'", " "]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        parts = [str(markupsafe.escape(p)) for p in text.split("/")]
        assert GK.token(text) == markupsafe.Markup(
            '<span class="tok">' + '/</span><wbr><span class="tok">'.join(parts) + "</span>")
    seen = []
    monkeypatch.setattr(columns, "escape", lambda v: seen.append(v) or markupsafe.escape(v))
    real = columns._plain_format   # the test strftime makes of a format before formatting it
    monkeypatch.setattr(columns, "_plain_format", lambda fmt: seen.append(fmt) or real(fmt))
    day = SafeDatetime(2026, 1, 2, 3, 4, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert str(GK.date(day)) == '<time class="tok" datetime="2026-01-02">2026-01-02</time>'
    assert str(GK.date(day.date())) == '<time class="tok" datetime="2026-01-02">2026-01-02</time>'
    assert str(GK.token("11990102MB00000041/2026-00001")) == (
        '<span class="tok">11990102MB00000041/</span><wbr><span class="tok">2026-00001</span>')
    assert GK.strftime(day, "%Y-%m-%d %H:%M") == "2026-01-02 03:04"
    assert not seen


def test_template_methods_are_called_by_jinja_as_before(cats):
    """Every GK method a template calls is marked as taking no context (Jinja's
    ``jinja_pass_arg``, None: Context.call then finds the answer at once instead of failing
    two lookups), and Jinja calls it exactly as before: with the template's arguments only."""
    found = set()
    for path in list((ROOT / "theme/templates").glob("*.html")) + list((ROOT / "theme/templates").glob("*.xml")):
        found |= set(re.findall(r"GK\.(\w+)\(", path.read_text(encoding="utf-8")))
    found.discard("macros")   # (pass_context: it takes the page's context)
    from gongkai import columns
    assert found <= set(columns.TEMPLATE_METHODS), found - set(columns.TEMPLATE_METHODS)
    gk = make_gk(cats, "county")
    for name in columns.TEMPLATE_METHODS:
        assert getattr(gk, name).jinja_pass_arg is None, name
    leaf = next(c for c in gk.tree.walk() if c.is_leaf)
    env = jinja2.Environment(autoescape=True)
    got = env.from_string("{{ GK.column_type(c) }}|{{ GK.path_to(c)|map(attribute='id')|join(',') }}|"
                          "{{ GK.once(('k',), f, 2) }}|{{ GK.once(('k',), f, 3) }}|{{ GK.referring('x', 'interprets') }}|"
                          "{{ GK.count(leaf) }}").render(GK=gk, c=leaf.id, leaf=leaf, f=lambda n: f"<{n}>")
    assert got == (f"{gk.column_type(leaf.id)}|{','.join(c.id for c in gk.path_to(leaf.id))}|<2>|<2>|[]|"
                   f"{gk.count(leaf)}")


def test_items_without_files_cost_the_attachment_copy_no_path(tmp_path, monkeypatch):
    """Only items with attachments or images have an output folder worked out (a Path per
    item was made for all of them); theirs are copied as before."""
    from pathlib import Path
    from types import SimpleNamespace

    from gongkai import columns
    from gongkai.fields import Attachment

    source = tmp_path / "src.pdf"
    source.write_bytes(b"%PDF-1.4 x")
    plain = [SimpleNamespace(gk=SimpleNamespace(save_as=f"art/p{n}.html", attachments=[], images=[])) for n in range(5)]
    att = Attachment(name="a.pdf", source=source, size=10, ext="pdf", kind="PDF")
    withfile = SimpleNamespace(gk=SimpleNamespace(save_as="art/x/f.html", attachments=[att], images=[]))
    gen = columns.ColumnsGenerator.__new__(columns.ColumnsGenerator)
    gen.output_path = str(tmp_path / "out")
    gen.gk = SimpleNamespace(lists={"a": plain + [withfile], "b": plain})
    made = []
    real = columns.Path
    monkeypatch.setattr(columns, "Path", lambda *a: made.append(a) or real(*a))
    gen._copy_attachments()
    assert (tmp_path / "out/art/x/a.pdf").read_bytes() == b"%PDF-1.4 x"
    assert made == [(gen.output_path,), ("art/x/f.html",)]


def test_related_is_referring_for_each_key(cats):
    """GK.related (one call an item page) answers what GK.referring answers for each key."""
    gk = make_gk(cats, "county")
    gk.reverse = {("interprets", "A/1"): [{"title": "解读"}], ("repealed_by", "A/1"): [{"title": "废止"}],
                  ("replaced_by", "B/2"): [{"title": "修订"}]}
    for index_no in ("A/1", "B/2", "C/3", None, ""):
        assert gk.related(index_no) == {key: gk.referring(index_no, key)
                                        for key in ("interprets", "repealed_by", "replaced_by")}
