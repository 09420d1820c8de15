"""Shared fixtures: paths, the catalogs, inline content trees, and built sites."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

from gongkai import catalogs as catalogs_mod  # noqa: E402
from gongkai.units import Unit  # noqa: E402

AS_OF = "2026-11-22"
FIXTURES = ROOT / "tests" / "fixtures"

UNIT_YAML = """\
name: 测试县人民政府
level: county
org_code: '11990102MB0000003X'
guide:
  office: 测试县人民政府办公室
  address: 测试县人民路1号
  hours: 工作日 9:00-17:00
  phone: 0510-00000000
"""


@pytest.fixture(scope="session")
def cats():
    return catalogs_mod.load(str(ROOT / "catalogs"))


def write_tree(content: Path, files: dict[str, str | bytes], dedent: bool = True) -> Path:
    """Write {relative path: text (dedented, unless ``dedent`` is False: hostile input is
    written as given) or bytes} under ``content`` and return it."""
    for rel, data in files.items():
        path = content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(data) if dedent else data, encoding="utf-8")
    return content


@pytest.fixture
def make_tree(tmp_path):
    """Write {relative path: text or bytes} under tmp_path/content and return that folder."""

    def make(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path / "content", files)

    return make


@pytest.fixture
def county(tmp_path, cats) -> Unit:
    folder = tmp_path / "content" / "demo-county"
    folder.mkdir(parents=True, exist_ok=True)
    return Unit(id="demo-county", name="测试县人民政府", level="county", org_code="11990102MB0000003X",
                folder=folder.resolve(), source="content/demo-county/_unit.yaml")


def gongkai(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the command line as `make` does."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": AS_OF, **(env or {})}
    return subprocess.run([sys.executable, "-m", "gongkai", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def bounded(*args: str, seconds: int = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command line, stopped after ``seconds`` with all its workers: a hang fails the
    test instead of the suite."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": AS_OF, **(env or {})}
    with subprocess.Popen([sys.executable, "-m", "gongkai", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"gongkai {args[0]} still running after {seconds} s (hang)")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def build(content: Path, output: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return gongkai("html", "--content", str(content), "--output", str(output),
                   "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"), *extra, env=env)


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> Path:
    """The shipped sample content, built once for the session."""
    out = tmp_path_factory.mktemp("sample") / "output"
    result = build(ROOT / "content", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def good_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("good") / "output"
    result = build(FIXTURES / "good", out)
    assert result.returncode == 0, result.stderr
    return out


# --- the browser and a local server, shared by every browser test -----------------------

@pytest.fixture(scope="module")
def browser():
    """Debian chromium driven by Playwright (``playwright install`` cannot download here)."""
    from a11y.audit import ARGS, CHROMIUM
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run `make browser-deps`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def serve():
    """serve(folder) -> base URL on 127.0.0.1; every server stops with the module (or by itself after 10 min)."""
    import contextlib

    from a11y.audit import serve as serve_folder
    with contextlib.ExitStack() as stack:
        yield lambda folder: stack.enter_context(serve_folder(folder))


@pytest.fixture(scope="module")
def site_url(sample_site, serve) -> str:
    """The shipped sample, served."""
    return serve(sample_site)
