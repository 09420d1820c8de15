"""Production settings: absolute URLs under the real host, minified stylesheet."""
import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from pelicanconf import *  # noqa: E402,F401,F403

GK_SITE_ROOT = os.environ.get("SITE_ROOT", "https://gk.example.gov.cn").rstrip("/")
SITEURL = GK_SITE_ROOT
RELATIVE_URLS = False
GK_MINIFY = True
# Production leaves the checker's reports out; set True to publish them.
GK_CHECK_REPORTS = False
