"""Pelican settings shared by every unit (local preview).

The build (plugins/gongkai/build.py) runs one Pelican per unit and overrides PATH,
OUTPUT_PATH, SITEURL, SITENAME and the GK_* settings for that unit.
"""
import os

ROOT = os.path.dirname(os.path.abspath(__file__))

GK_SITE_ROOT = os.environ.get("SITE_ROOT", "http://127.0.0.1:8000").rstrip("/")
GK_PORTAL_NAME = "示例省政府信息公开平台"
GK_CATALOGS = os.path.join(ROOT, "catalogs")

SITENAME = "政府信息公开"
SITEURL = GK_SITE_ROOT
RELATIVE_URLS = True          # pages open from disk (file://) and from any host
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh-CN"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"

THEME = os.path.join(ROOT, "theme")
THEME_STATIC_DIR = "theme"
PLUGIN_PATHS = [os.path.join(ROOT, "plugins")]
# read & validate → lifecycle → render (columns, fiscal)
PLUGINS = ["gongkai.reader", "gongkai.lifecycle", "gongkai.columns", "gongkai.fiscal_plugin",
           "gongkai.annual.plugin", "gongkai.search"]
PLUGINS += ["gongkai.feeds"]  # feeds: <updated> from the as-of date, never the clock; summary only
PLUGINS += ["gongkai.incremental.pages"]  # a rebuilt unit copies item pages whose inputs did not change

# Every item is an article whose URL comes from its path (set by our reader).
ARTICLE_PATHS = [""]
PAGE_PATHS = []
STATIC_PATHS = []             # attachments are copied only for public items
IGNORE_FILES = [".*", "_unit.yaml", "__pycache__"]
ARTICLE_SAVE_AS = ARTICLE_URL = "art/{slug}.html"
ARTICLE_LANG_SAVE_AS = ARTICLE_LANG_URL = ""
DRAFT_SAVE_AS = DRAFT_URL = DRAFT_LANG_SAVE_AS = ""
PAGE_SAVE_AS = PAGE_LANG_SAVE_AS = DRAFT_PAGE_SAVE_AS = DRAFT_PAGE_LANG_SAVE_AS = ""
CATEGORY_SAVE_AS = TAG_SAVE_AS = AUTHOR_SAVE_AS = ""
CATEGORIES_SAVE_AS = TAGS_SAVE_AS = AUTHORS_SAVE_AS = ARCHIVES_SAVE_AS = ""
YEAR_ARCHIVE_SAVE_AS = MONTH_ARCHIVE_SAVE_AS = DAY_ARCHIVE_SAVE_AS = ""

DIRECT_TEMPLATES = ["index", "sitemap"]
SITEMAP_SAVE_AS = "sitemap.xml"
TEMPLATE_EXTENSIONS = [".html", ".xml"]
PAGINATED_TEMPLATES = {"column": 20}
PAGINATION_PATTERNS = [
    (1, "{name}{extension}", "{name}{extension}"),
    (2, "{name}{number}{extension}", "{name}{number}{extension}"),
]
DEFAULT_ORPHANS = 0

FEED_ATOM = "feed.xml"
FEED_ALL_ATOM = FEED_ALL_RSS = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
FEED_MAX_ITEMS = 50

# Autoescape everything; article bodies are sanitized and marked safe explicitly.
# auto_reload off: a build never sees a template change mid-run, and the up-to-date check
# stat()ed every template on every page.
JINJA_ENVIRONMENT = {"autoescape": True, "trim_blocks": True, "lstrip_blocks": True, "extensions": [],
                     "auto_reload": False}

LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
DELETE_OUTPUT_DIRECTORY = False
OUTPUT_SOURCES = False
SLUGIFY_SOURCE = "basename"
TYPOGRIFY = False

# The checker's reports (output/check/, output/<unit>/check/) are part of the preview.
GK_CHECK_REPORTS = True
