"""Where one build's time and memory go, per stage (issue 15: ``make bench`` reports it).

The stages are the pipeline's: ``validate`` (the pre-pass scan), ``lifecycle``
(``Facts.of`` and the other cross-unit state work), ``render`` (Pelican per unit, minus
the search index), ``search`` (the units' indexes and the portal's search page),
``check`` (the checker over the built pages) and ``write`` (portal pages, copying,
the swap). Other names (a cache stage, say) are accepted and listed after these.
Work of one stage done during another's lap is moved to its own stage's CPU (``move``):
the facts' unit parts made during the pre-pass (facts.Early) count as ``lifecycle``, the
rules evaluated while the units render (check.Ahead) as ``check``; the wall figures stay
where the parent spent them.

Two figures per stage: CPU seconds of every process that worked on it (a worker adds
its unit's sums to the result of ``build.build_unit``; the parent adds them up), and
the parent's wall seconds. The unit pool is one wall figure (``units``): render and
search run interleaved in the workers. Peak RSS is kept for the parent and for the
largest worker (with the unit it was building), because that is what bounds a build.

The figures go to stderr as one ``stages:`` line, and to a JSON file when asked
(``GK_TIMINGS=<path>`` or ``--timings <path>``); never into the output folder, whose
bytes must not depend on the clock.
"""
from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("validate", "lifecycle", "render", "search", "check", "write")
ENV = "GK_TIMINGS"


def peak_rss_mib() -> float:
    """This process's peak resident set so far, MiB: its own memory's high-water mark
    (VmHWM). Not ``ru_maxrss`` where /proc has it: Linux carries that across ``exec``, so a
    build started by a large process (a bench, an editor's tool) would report that
    process's peak as its own."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024          # KiB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def deciles(values: list[float]) -> list[float]:
    """The largest value of each tenth of ``values`` (in order): a worker whose memory grows
    unit after unit shows a rising curve; a bounded one a flat curve."""
    if not values:
        return []
    n, k = len(values), min(10, len(values))
    return [round(max(values[i * n // k:(i + 1) * n // k]), 1) for i in range(k)]


def _order(names) -> list[str]:
    return [s for s in STAGES if s in names] + sorted(n for n in names if n not in STAGES)


@dataclass
class Stopwatch:
    """Sums per stage for one build (the parent's) or one unit (a worker's)."""

    cpu: dict[str, float] = field(default_factory=dict)     # CPU seconds, every process
    wall: dict[str, float] = field(default_factory=dict)    # parent wall seconds
    rss: dict[str, float] = field(default_factory=dict)     # parent / largest worker, MiB
    peak_after: dict[str, float] = field(default_factory=dict)  # parent peak RSS after each stage
    worker_unit: str = ""                                   # the unit the largest worker was building
    worker_rss: list[float] = field(default_factory=list)   # each unit's worker peak, in completion order
    workers: int = 0
    units: int = 0
    started: float = field(default_factory=time.perf_counter)
    _cpu: float = field(default_factory=time.process_time, repr=False)
    _wall: float = field(default_factory=time.perf_counter, repr=False)

    def lap(self, name: str, wall: str | None = None) -> None:
        """Account this process's CPU and the wall time since the previous lap (or the
        start) to ``name`` (the wall time to ``wall`` when given): one line after each stage."""
        cpu, now = time.process_time(), time.perf_counter()
        self.add(name, cpu - self._cpu)
        key = wall or name
        self.wall[key] = self.wall.get(key, 0.0) + now - self._wall
        self._cpu, self._wall = cpu, now
        self.rss["parent"] = max(self.rss.get("parent", 0.0), peak_rss_mib())
        self.peak_after[name] = self.rss["parent"]

    def add(self, name: str, cpu: float) -> None:
        self.cpu[name] = self.cpu.get(name, 0.0) + max(0.0, cpu)

    def move(self, source: str, target: str, cpu: float) -> None:
        """Account ``cpu`` seconds lapped under ``source`` to ``target`` (work of one stage
        done during another's lap)."""
        cpu = min(max(0.0, cpu), self.cpu.get(source, 0.0))
        self.cpu[source] = self.cpu.get(source, 0.0) - cpu
        self.add(target, cpu)

    def worker(self, result: dict) -> None:
        """Add one unit's sums (``build_unit``'s ``stages`` and ``rss_mib``)."""
        for name, cpu in (result.get("stages") or {}).items():
            self.add(name, cpu)
        rss = result.get("rss_mib") or 0.0
        self.worker_rss.append(rss)
        if rss > self.rss.get("worker", 0.0):
            self.rss["worker"], self.worker_unit = rss, result.get("unit", "")
        self.units += 1

    def as_json(self) -> dict:
        self.rss["parent"] = max(self.rss.get("parent", 0.0), peak_rss_mib())
        return {"cpu": {k: round(v, 3) for k, v in self.cpu.items()},
                "wall": {k: round(v, 3) for k, v in self.wall.items()},
                "total_wall": round(time.perf_counter() - self.started, 3),
                "total_cpu": round(sum(self.cpu.values()), 3),
                "rss_mib": {k: round(v, 1) for k, v in self.rss.items()},
                "parent_peak_after": {k: round(v, 1) for k, v in self.peak_after.items()},
                "worker_unit": self.worker_unit, "workers": self.workers, "units": self.units,
                "worker_rss_deciles": deciles(self.worker_rss)}

    def line(self) -> str:
        data = self.as_json()
        cpu = ", ".join(f"{k} {data['cpu'][k]:.1f}" for k in _order(data["cpu"]))
        wall = ", ".join(f"{k} {data['wall'][k]:.1f}" for k in _order(data["wall"]))
        rss = data["rss_mib"]
        worker = f", largest worker {rss['worker']:.0f} MiB ({data['worker_unit']})" if "worker" in rss else ""
        return (f"stages: CPU s (all processes) {cpu}; parent wall s {wall} "
                f"(units = render + search on {data['workers']} workers); "
                f"peak RSS parent {rss['parent']:.0f} MiB{worker}")

    def report(self, path: str | os.PathLike | None = None) -> str:
        """The ``stages:`` line; with ``path`` (or $GK_TIMINGS) also the JSON file."""
        path = path or os.environ.get(ENV)
        if path:
            Path(path).write_text(json.dumps(self.as_json(), sort_keys=True, indent=1) + "\n", encoding="utf-8")
        return self.line()


def unit_sums(cpu: float, wall: float, search_stash: Path) -> dict[str, float]:
    """One unit's CPU (``cpu`` seconds over ``wall`` seconds) split into render and search.
    The search stage's own figure comes from the file it leaves for the portal page
    (search/__init__.py): its ``cpu`` when given; else its ``seconds``, which are wall
    time in the worker, scaled by the unit's CPU/wall ratio (a shared machine stretches
    wall time, and only CPU adds up across workers)."""
    try:
        data = json.loads(search_stash.read_text(encoding="utf-8"))
        spent = float(data["cpu"]) if "cpu" in data else float(data["seconds"]) * (cpu / wall if wall > 0 else 1.0)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        spent = 0.0
    spent = min(max(spent, 0.0), cpu)
    return {"render": cpu - spent, "search": spent}
