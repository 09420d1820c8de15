"""Drive a search page in headless Chromium and record what each query costs.

Any engine whose page keeps this interface can be measured (ours and the Pagefind
page beside this file both do):

- the query is in the URL: ``search.html?q=…``; a form field ``name="q"`` runs a
  later query in the same page session;
- the result list is the element marked ``data-search-results``; each result (its
  top-level ``<li>``, else each child element) links to an item with its first ``<a href>``;
- ``<html data-search-state="done">`` once the results (or the no-results message) show;
- more results behind a link ``rel="next"`` that updates the page in place (followed only
  to read every result for recall, not timed; at most ``recall_seconds`` a query, after
  which the recall is a lower bound and the query is marked).

The moment of ``done`` comes from the page (``Date.now()`` in a MutationObserver
installed before any page script); the bytes from Playwright's network events, which
also see the requests of a page's workers (Pagefind searches in one): every request
that started after the query was issued and finished by ``done`` counts with its
response headers and body as sent (the gzip size when gzipped); answers from the
browser cache count 0. The page's own HTML document is left out (it is page design,
not search); its stylesheets, scripts and every index file count.

The server listens on 127.0.0.1 on a free port, gzips text types like a usual static
host (pagefind's files are gzipped already), allows caching for 10 minutes, and stops
by itself after ``max_seconds``.
"""
from __future__ import annotations

import contextlib
import gzip
import http.server
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu"]
GZIP_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")

INIT_SCRIPT = """
(() => {
  try { performance.setResourceTimingBufferSize(1000000); } catch (e) {}
  window.__sbDone = 0;
  const mark = () => {
    const state = document.documentElement && document.documentElement.getAttribute('data-search-state');
    if (state === 'done') { if (!window.__sbDone) window.__sbDone = Date.now(); }
    else window.__sbDone = 0;
  };
  new MutationObserver(mark).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-search-state']});
})();
"""

RESULTS = """
() => {
  const root = document.querySelector('[data-search-results]');
  if (!root) return null;
  let items = [...root.querySelectorAll('li')].filter(li => {
    const outer = li.parentElement && li.parentElement.closest('li');
    return !(outer && root.contains(outer));
  });
  if (!items.length) items = [...root.children];
  return items.map(el => el.matches('a[href]') ? el : el.querySelector('a[href]')).filter(Boolean).map(a => a.href);
}
"""

SUBMIT = """
(q) => {
  const inputs = [...document.querySelectorAll('input[name=q]')];
  const input = inputs.find(i => i.closest('main') && i.form) || inputs.find(i => i.form);
  if (!input) return null;
  document.documentElement.removeAttribute('data-search-state');
  window.__sbDone = 0;
  const t0 = Date.now();
  input.value = q;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.form.requestSubmit();
  return t0;
}
"""

NEXT = """
async (timeoutMs) => {
  const next = document.querySelector('a[rel~=next]');
  if (!next) return null;
  document.documentElement.removeAttribute('data-search-state');
  window.__sbDone = 0;
  next.click();
  const started = Date.now();
  while (!window.__sbDone) {
    if (Date.now() - started > timeoutMs) throw new Error('no data-search-state="done" after the next page');
    await new Promise(r => setTimeout(r, 5));
  }
  return (RESULTS)();
}
""".replace("(RESULTS)", f"({RESULTS.strip()})")


class BenchError(Exception):
    """A condition that ends the benchmark with one line (no chromium, no page)."""


@dataclass
class QueryRun:
    q: str
    cold_ms: float | None = None
    cold_bytes: int | None = None
    cold_requests: int | None = None
    warm_ms: float | None = None
    warm_bytes: int | None = None
    warm_requests: int | None = None
    results: list[str] = field(default_factory=list)   # item keys, in rank order (as far as paged)
    complete: bool = False                                # every result page was read
    cold_files: list = field(default_factory=list)        # (path, bytes) of the cold query
    warm_files: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Handler(http.server.SimpleHTTPRequestHandler):
    cache: dict[str, bytes] = {}   # replaced per server (see serve)

    def log_message(self, *args) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        ctype = self.guess_type(str(path))
        if not (path.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")
                and ctype.startswith(GZIP_TYPES)):
            return super().do_GET()
        key = str(path)
        if key not in self.cache:
            self.cache[key] = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        data = self.cache[key]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def serve(root: Path, max_seconds: float = 3600):
    """Serve ``root`` on 127.0.0.1 (free port); yields the base URL. Stops on exit or after max_seconds."""
    handler = type("Handler", (_Handler,), {"cache": {}})

    def make(*args, **kwargs):
        return handler(*args, directory=str(root), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    timer = threading.Timer(max_seconds, httpd.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        timer.cancel()
        httpd.shutdown()
        httpd.server_close()


def item_key(href: str, unit_url: str) -> str:
    """A result link as a path relative to the unit (query and fragment dropped)."""
    parts = urlsplit(href)
    base = urlsplit(unit_url)
    path = unquote(parts.path)
    prefix = unquote(base.path)
    if parts.netloc == base.netloc and path.startswith(prefix):
        return path[len(prefix):]
    return href


def _dedupe(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))


class _Meter:
    """The requests of one browser context, for the bytes of one query at a time."""

    def __init__(self, context):
        self.requests: list = []
        self.context = context
        self.started = self.ended = 0
        self.handler = lambda request: self.requests.append(request)
        self.on_start = lambda request: setattr(self, "started", self.started + 1)
        self.on_end = lambda request: setattr(self, "ended", self.ended + 1)
        context.on("requestfinished", self.handler)
        context.on("request", self.on_start)
        context.on("requestfinished", self.on_end)
        context.on("requestfailed", self.on_end)

    def stop(self) -> None:
        self.context.remove_listener("requestfinished", self.handler)
        self.context.remove_listener("request", self.on_start)
        self.context.remove_listener("requestfinished", self.on_end)
        self.context.remove_listener("requestfailed", self.on_end)
        self.requests.clear()

    def settle(self, page, seconds: float = 5) -> None:
        """Wait (bounded) until every request the page began has been reported finished or
        failed: the page may say it is done before the browser's events for the files it
        read reach this process (a loaded machine: a query's index file went uncounted)."""
        deadline = time.monotonic() + seconds
        while self.ended < self.started and time.monotonic() < deadline:
            page.wait_for_timeout(20)

    def costs(self, t0: float | None, done: float) -> tuple[float, int, int, list]:
        """(start of the first request, bytes, requests, [(path, bytes)]) of what started at/after t0
        and ended by done."""
        first, total, count, files = done, 0, 0, []
        for request in self.requests:
            timing = request.timing
            start = timing["startTime"]
            end = start + max(0, timing["responseEnd"])
            if (t0 is not None and start < t0 - 2) or end > done + 2:
                continue
            first = min(first, start)
            if request.resource_type == "document":
                continue
            size = _wire_bytes(request)
            total += size
            count += size > 0
            files.append((urlsplit(request.url).path, size))
        self.requests.clear()
        return first, total, count, sorted(files)


def _wire_bytes(request) -> int:
    sizes = request.sizes()
    if sizes["responseBodySize"] + sizes["responseHeadersSize"] <= 0:
        return 0  # from the browser cache
    response = request.response()
    length = response.headers.get("content-length", "") if response else ""
    body = int(length) if length.isdigit() else max(0, sizes["responseBodySize"])
    return body + sizes["responseHeadersSize"]


def _wait_done(page, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            page.wait_for_function("() => window.__sbDone > 0", timeout=max(1, (deadline - time.monotonic()) * 1000))
            return
        except Exception as exc:  # noqa: BLE001 - a navigation destroys the context we polled: poll the new one
            if "context was destroyed" not in str(exc) and "navigation" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise


def launch(playwright):
    """Debian chromium, headless; BenchError (one line) when it is missing."""
    if not Path(CHROMIUM).exists():
        raise BenchError(f"{CHROMIUM} not found: run `make browser-deps` (search figures skipped)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def measure(browser, search_url: str, unit_url: str, queries: list[str], warmup: str,
            want: dict[str, set[str]] | None = None, timeout_s: float = 60, recall_pages: int = 1000,
            recall_seconds: float = 600, log=lambda line: None) -> list[QueryRun]:
    """Cold, warm and recall passes over ``queries`` on the page at ``search_url``."""
    from urllib.parse import quote
    runs = {q: QueryRun(q) for q in queries}

    def url(q: str) -> str:
        return f"{search_url}?q={quote(q)}"

    begun = time.monotonic()
    # Cold: each query in a fresh context (empty cache), straight from the URL.
    for q in queries:
        run = runs[q]
        context = browser.new_context()
        try:
            context.add_init_script(INIT_SCRIPT)
            meter = _Meter(context)
            page = context.new_page()
            page.goto(url(q), wait_until="commit", timeout=timeout_s * 1000)
            _wait_done(page, timeout_s)
            done = page.evaluate("window.__sbDone")
            meter.settle(page)
            first, run.cold_bytes, run.cold_requests, run.cold_files = meter.costs(None, done)
            run.cold_ms = done - first
        except Exception as exc:  # noqa: BLE001 - record the failure of this query, go on with the others
            run.errors.append(f"cold: {_short(exc)}")
        finally:
            context.close()

    log(f"cold queries done ({time.monotonic() - begun:.0f} s)")
    # Warm: one page session, opened with the warm-up query; each query through the form.
    context = browser.new_context()
    try:
        context.add_init_script(INIT_SCRIPT)
        meter = _Meter(context)
        page = context.new_page()
        page.goto(url(warmup), wait_until="commit", timeout=timeout_s * 1000)
        _wait_done(page, timeout_s)
        for q in queries:
            run = runs[q]
            try:
                meter.requests.clear()
                t0 = page.evaluate(SUBMIT, q)
                if t0 is None:
                    raise BenchError("no form field name=q on the page")
                _wait_done(page, timeout_s)
                done = page.evaluate("window.__sbDone")
                meter.settle(page)
                _, run.warm_bytes, run.warm_requests, run.warm_files = meter.costs(t0, done)
                run.warm_ms = done - t0
            except Exception as exc:  # noqa: BLE001
                run.errors.append(f"warm: {_short(exc)}")
        meter.stop()
        log(f"later queries done ({time.monotonic() - begun:.0f} s)")
        # Recall: every result, page after page (stops once the whole truth and a first 10 are in).
        for q in queries:
            run = runs[q]
            expected = (want or {}).get(q, set())
            try:
                if page.evaluate(SUBMIT, q) is None:
                    raise BenchError("no form field name=q on the page")
                _wait_done(page, timeout_s)
                found = _dedupe([item_key(h, unit_url) for h in page.evaluate(RESULTS) or []])
                started, pages = time.monotonic(), 1
                while True:
                    if want is not None and len(found) >= 10 and expected <= set(found):
                        break
                    if pages >= recall_pages or time.monotonic() - started > recall_seconds:
                        run.errors.append(f"recall: stopped after {pages} result pages")
                        break
                    hrefs = page.evaluate(NEXT, timeout_s * 1000)
                    if hrefs is None:
                        run.complete = True
                        break
                    pages += 1
                    found = _dedupe(found + [item_key(h, unit_url) for h in hrefs])
                run.results = found
            except Exception as exc:  # noqa: BLE001
                run.errors.append(f"recall: {_short(exc)}")
        log(f"result lists read for recall ({time.monotonic() - begun:.0f} s)")
    finally:
        context.close()
    return [runs[q] for q in queries]


def unit_url_of(base: str, unit: str) -> str:
    return urljoin(base, f"{unit}/")


def _short(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
