"""A build or check stopped from outside (SIGTERM from a supervisor, Ctrl-C, the zygote
killed by the OOM killer) ends in bounded time with one message, Chinese first, no
traceback, a non-zero exit; it leaves no spool or partial output behind, no unit worker
running, and output/ exactly as the last complete build left it (DESIGN §9).

Each case runs ``python -m gongkai`` through a small wrapper (HOOK) that makes the unit
workers, or the swap, wait until the test has sent its signal: the moment is certain,
not a race with the build."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

HOOK = '''
import os, sys, time
from pathlib import Path
from gongkai import build

MARKS, STAGE = Path(sys.argv[1]), sys.argv[2]
_build_unit, _swap = build.build_unit, build._swap


def slow_unit(job):
    # In a unit worker: say who we are (our pid, the zygote's), then wait for the test's signal.
    (MARKS / f"worker-{os.getpid()}-{os.getppid()}").write_text("")
    if STAGE == "render":
        time.sleep(120)
    return _build_unit(job)


def slow_swap(partial, output, **kw):
    # In the parent, after the reused units' files were moved out of output/ (incremental/).
    (MARKS / "swap").write_text("")
    if STAGE == "swap":
        time.sleep(120)
    return _swap(partial, output, **kw)


from gongkai import site
_validate = site._Validate.__call__


def slow_scan(self, uid):
    # The pre-pass of one unit (in the parent with --jobs 1), its spool already made.
    (MARKS / "scan").write_text("")
    if STAGE == "scan":
        time.sleep(120)
    return _validate(self, uid)


build.build_unit, build._swap, site._Validate.__call__ = slow_unit, slow_swap, slow_scan
from gongkai.__main__ import main
sys.exit(main(sys.argv[3:]))
'''

LIMIT = 60.0    # seconds: the hooks wait 120, so an exit before this one was not a wait for them


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_process_left():
    # Whatever a failing case left running (its own session: the build, the zygote, workers).
    yield
    while STARTED:
        proc = STARTED.pop()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _env(tmp: Path) -> dict:
    (tmp / "tmpdir").mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": "2026-11-22",
            "TMPDIR": str(tmp / "tmpdir"), "PYTHONDONTWRITEBYTECODE": "1"}


def _start(tmp: Path, stage: str, *args: str) -> tuple[subprocess.Popen, Path]:
    marks = tmp / f"marks-{stage}-{time.monotonic_ns()}"
    marks.mkdir()
    hook = tmp / "hook.py"
    hook.write_text(HOOK, encoding="utf-8")
    # stderr to a file, not a pipe: the parent's end is what is waited for, not that of every
    # process that inherited the pipe (a worker left running would hold it).
    with open(marks.with_suffix(".err"), "w") as err:
        proc = subprocess.Popen([sys.executable, str(hook), str(marks), stage, *args], cwd=ROOT, env=_env(tmp),
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    proc.err_file = marks.with_suffix(".err")
    STARTED.append(proc)
    return proc, marks


def _wait_for(proc: subprocess.Popen, marks: Path, pattern: str) -> list[Path]:
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        found = sorted(marks.glob(pattern))
        if found:
            time.sleep(0.3)     # let the other workers start theirs too
            return sorted(marks.glob(pattern))
        if proc.poll() is not None:
            pytest.fail(f"the build ended before {pattern}: {proc.returncode}\n{proc.err_file.read_text()}")
        time.sleep(0.05)
    _kill(proc)
    pytest.fail(f"no {pattern} within {LIMIT}s")


def _finish(proc: subprocess.Popen) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        proc.wait(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        _kill(proc)
        pytest.fail(f"the build did not end within {LIMIT}s of the signal (a hang)")
    return proc.returncode, proc.err_file.read_text(encoding="utf-8"), time.monotonic() - started


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _workers(marks: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in marks.glob("worker-*")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by its re-parented init) has exited: its state is Z.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _gone(pids: list[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((f".{name}.partial", f".{name}.spool-",
                                                                          f".{name}.old")))


def _one_message(err: str, start: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if start in line]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(start) and "(" in line, line     # Chinese first, the English beside it
    return line


@pytest.mark.parametrize("signum, group", [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
                         ids=["SIGTERM", "SIGINT", "Ctrl-C"])
def test_check_stopped_by_a_signal_removes_its_spool_and_says_so(tmp_path, signum, group):
    """`make check` puts its spool (every unit's bodies) in the temp dir: stopped while the
    unit workers render, it removes it, the temporary build and its workers. Ctrl-C in a
    terminal signals every process of the group (the zygote and workers too)."""
    proc, marks = _start(tmp_path, "render", "check", "--content", "content", "--output",
                         str(tmp_path / "out"), "--jobs", "2")
    _wait_for(proc, marks, "worker-*")
    tmpdir = tmp_path / "tmpdir"
    assert any(p.name.startswith(".gongkai-spool-") for p in tmpdir.iterdir())    # the spool is there now
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    code, err, _ = _finish(proc)
    assert code == 128 + signum, err
    line = _one_message(err, "已中断")
    assert signal.Signals(signum).name in line
    assert sorted(p.name for p in tmpdir.iterdir()) == []      # no spool, no gongkai-check-* build
    assert _gone(_workers(marks)), "unit workers outlived the check"


def test_validate_stopped_by_a_signal_removes_its_spool(tmp_path):
    proc, marks = _start(tmp_path, "scan", "validate", "--content", "content", "--output",
                         str(tmp_path / "out"), "--jobs", "1")
    _wait_for(proc, marks, "scan")
    proc.send_signal(signal.SIGTERM)
    code, err, _ = _finish(proc)
    assert code == 128 + signal.SIGTERM, err
    _one_message(err, "已中断")
    assert sorted(p.name for p in (tmp_path / "tmpdir").iterdir()) == []


def _good_build(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    proc, _ = _start(tmp_path, "none", "html", "--output", str(out), "--jobs", "2")
    code, err, _ = _finish(proc)
    assert code == 0, err
    return out, _tree(out)


def _stopped_with_output_intact(proc, tmp_path, out, good) -> None:
    """SIGTERM the build: exit 143, one message, output/ as the last good build left it, nothing left beside it."""
    proc.send_signal(signal.SIGTERM)
    code, err, _ = _finish(proc)
    assert code == 128 + signal.SIGTERM, err
    _one_message(err, "已中断")
    assert _tree(out) == good
    assert _leftovers(tmp_path, "out") == []


def test_html_stopped_while_rendering_leaves_the_last_good_output(tmp_path):
    out, good = _good_build(tmp_path)
    proc, marks = _start(tmp_path, "render", "html", "--output", str(out), "--jobs", "2", "--no-cache")
    _wait_for(proc, marks, "worker-*")
    _stopped_with_output_intact(proc, tmp_path, out, good)
    assert _gone(_workers(marks))


def test_html_stopped_just_before_the_swap_puts_the_moved_files_back(tmp_path):
    """An unchanged rebuild reuses every unit: their files are moved out of output/ into
    the new tree just before the swap. Stopped there, the build puts them back before it
    exits (before, output/ lacked them until the next build)."""
    out, good = _good_build(tmp_path)
    proc, marks = _start(tmp_path, "swap", "html", "--output", str(out), "--jobs", "2")
    _wait_for(proc, marks, "swap")
    _stopped_with_output_intact(proc, tmp_path, out, good)


def test_a_killed_zygote_fails_the_build_at_once_and_its_workers_go(tmp_path):
    """The zygote (pool.py) killed while its workers are busy: the parent does not wait for
    them (they would wait for jobs forever); one message, the last good output kept."""
    out, good = _good_build(tmp_path)
    proc, marks = _start(tmp_path, "render", "html", "--output", str(out), "--jobs", "2", "--no-cache")
    _wait_for(proc, marks, "worker-*")
    zygotes = {int(p.name.split("-")[2]) for p in marks.glob("worker-*")}
    assert len(zygotes) == 1 and proc.pid not in zygotes
    os.kill(zygotes.pop(), signal.SIGKILL)
    code, err, took = _finish(proc)
    assert code not in (0, None) and code > 0, err
    line = _one_message(err, "构建失败")
    assert "单元构建进程意外退出" in line
    assert took < 30
    assert _tree(out) == good
    assert _leftovers(tmp_path, "out") == []
    assert _gone(_workers(marks))


def test_a_signal_inside_a_deferred_step_takes_effect_when_it_ends():
    """The two renames of the swap (build._swap) run inside interrupt.deferred(): a SIGTERM
    between them would leave no output/ at all until the next build."""
    from gongkai import interrupt
    steps, before = [], [signal.getsignal(s) for s in interrupt.SIGNALS]
    with pytest.raises(interrupt.Interrupted) as stopped, interrupt.handled():
        with interrupt.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)          # the handler has run by now, and raised nothing
            steps.append("second rename")
        steps.append("after the swap")
    assert steps == ["second rename"] and stopped.value.code == 128 + signal.SIGTERM
    assert [signal.getsignal(s) for s in interrupt.SIGNALS] == before     # the caller's handlers are back
