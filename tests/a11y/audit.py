"""Accessibility audit of a built site: axe-core (npm, pinned in package-lock.json)
injected by Playwright into Debian chromium, over every page kind of the sample, in
every mode (1280 px, 375 px, 长者模式, 高对比).

Used by tests/test_a11y.py (zero serious or critical violations) and by
``make a11y`` (``python -m tests.a11y.audit OUTPUT``: prints the counts per page kind).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
BLOCKING = ("serious", "critical")

# Every page kind of the sample: (kind, path under the output). One line adds a kind.
PAGE_KINDS: list[tuple[str, str]] = [
    ("portal", "index.html"),
    ("unit home", "shili-county/index.html"),
    ("column", "shili-county/gfxwj/index.html"),
    ("group", "shili-county/fdzdgknr/index.html"),
    ("item", "shili-county/art/gfxwj/2026-linshi-jiuzhu-shishi-xize.html"),
    ("解读", "shili-county/art/zcjd/2026-linshi-jiuzhu-shishi-xize-wenda.html"),
    ("政策问答", "shili-county/zcwd/index.html"),
    ("三公 overview", "shili-county/sgjf/index.html"),
    ("三公 item", "shili-county/art/sgjf/2026-sangong-juesuan-2025-jt.html"),
    ("fiscal item", "shili-county/art/zfyjs/2026-xianji-yusuan-baobiao.html"),
    ("年报", "shili-county/art/xxgknb/2026-2025-xxgk-niandu-baogao.html"),
    ("guide", "shili-county/xxgkzn/index.html"),
    ("废止和失效", "shili-county/fzhsx/index.html"),
    ("withdrawn 公示", "shili-county/art/shjz/2026-q3-dibao-nixinzeng-gongshi.html"),
    ("retired item", "shili-county/art/gfxwj/2021-nongcun-dibao-guanli-banfa.html"),
    ("网站地图", "shili-county/wzdt.html"),
    ("search", "shili-county/search.html?q=政务公开"),
    ("search, no results", "shili-county/search.html?q=没有这样的词语"),
    ("portal search", "search.html?q=三公经费"),
    ("check report", "shili-province/check/index.html"),
    ("check summary", "check/index.html"),
    ("年报 roll-up", "annual/index.html"),
]

# (mode, viewport width, saved page-tool choices in localStorage)
MODES: list[tuple[str, int, dict[str, str]]] = [
    ("1280", 1280, {}), ("375", 375, {}), ("长者模式", 375, {"gk-elder": "1"}), ("高对比", 1280, {"gk-contrast": "1"})]


def ensure_axe() -> Path:
    """axe-core from the lockfile (``npm ci``) when it is not installed yet."""
    if not AXE_JS.is_file():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)], check=True,
                       capture_output=True, timeout=600)
    return AXE_JS


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1; the server stops itself after 10 minutes."""
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    watchdog = threading.Timer(600, httpd.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()


def new_context(browser, width: int, elder: bool = False, prefs: dict[str, str] | None = None):
    """A browser context at ``width`` px; ``prefs`` (or ``elder``) are saved page-tool choices."""
    import json

    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                  is_mobile=width < 760, device_scale_factor=1)
    saved = dict(prefs or {}, **({"gk-elder": "1"} if elder else {}))
    if saved:
        context.add_init_script(f"try {{ for (const [k, v] of Object.entries({json.dumps(saved)})) "
                                "localStorage.setItem(k, v); } catch (e) {}")
    return context


def run_axe(page) -> list[dict]:
    """Every axe violation of the page loaded in ``page`` (WCAG 2.0/2.1 A and AA, best practice)."""
    page.add_script_tag(path=str(ensure_axe()))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return result


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    return "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}" for v in violations)


def audit_site(output: Path, kinds=PAGE_KINDS, modes=MODES) -> dict[tuple[str, str], list[dict]]:
    """(kind, mode) -> violations, for every page kind in every mode."""
    from playwright.sync_api import sync_playwright

    out: dict[tuple[str, str], list[dict]] = {}
    with serve(output) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for mode, width, prefs in modes:
                context = new_context(browser, width, prefs=prefs)
                page = context.new_page()
                for kind, path in kinds:
                    page.goto(f"{base}/{path}")
                    if "search.html" in path:  # results are rendered by script: audit them too
                        page.wait_for_function("document.documentElement.dataset.searchState === 'done'",
                                               timeout=30000)
                    out[(kind, mode)] = run_axe(page)
                context.close()
        finally:
            browser.close()
    return out


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad for a terminal, counting a CJK character as two columns."""
    import unicodedata
    cols = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    fill = " " * max(0, width - cols)
    return fill + text if right else text + fill


def main(argv: list[str]) -> int:
    output = Path(argv[0] if argv else "output")
    results = audit_site(output)
    modes = [m for m, _, _ in MODES]
    print(_pad("page kind", 18) + "".join(_pad(m, 12, right=True) for m in modes) + "   (serious+critical / all)")
    bad = 0
    for kind, _ in PAGE_KINDS:
        cells = []
        for mode in modes:
            v = results[(kind, mode)]
            bad += len(blocking(v))
            cells.append(f"{len(blocking(v))}/{len(v)}")
        print(_pad(kind, 18) + "".join(_pad(c, 12, right=True) for c in cells))
    for (kind, mode), v in sorted(results.items()):
        if v:
            print(f"  {kind} @ {mode}: {describe(v)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
