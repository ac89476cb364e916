"""The figures of one run: each measure's values over the repetitions (or why it was not
measured), which anchor it is compared with, and the table of medians, ranges and ratios that is
printed and written to benchmarks/RESULTS.md, headed by the machine it ran on."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Figure:
    scenario: str
    measure: str
    unit: str  # "sends/s", "contacts/s", "rows/s", "req/s", "ms", "s", "MB", "credits", "launches"
    anchor: str | None = None  # the measure (same scenario) this one is compared with
    is_anchor: bool = False
    values: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def shown(self, value: float | None) -> str:
        if value is None:
            return "-"
        if self.unit.endswith("/s") or self.unit in {"MB", "credits", "launches"}:
            return f"{value:,.0f}"
        return f"{value:,.1f}" if self.unit == "ms" else f"{value:,.2f}"

    def spread(self) -> str:
        if not self.values:
            return "not measured: " + (self.failures[0] if self.failures else "no run")
        low, high = min(self.values), max(self.values)
        text = self.shown(low) if low == high else f"{self.shown(low)} - {self.shown(high)}"
        if self.failures:
            text += f" ({len(self.failures)} run(s) failed: {self.failures[0]})"
        return text


class Results:
    def __init__(self) -> None:
        self.figures: dict[tuple[str, str], Figure] = {}

    def figure(self, scenario: str, measure: str, unit: str, anchor: str | None = None) -> Figure:
        key = (scenario, measure)
        if key not in self.figures:
            self.figures[key] = Figure(scenario, measure, unit, anchor, measure.startswith("anchor:"))
        return self.figures[key]

    def add(self, scenario: str, measure: str, unit: str, value: float, anchor: str | None = None) -> None:
        self.figure(scenario, measure, unit, anchor).values.append(value)

    def fail(self, scenario: str, measure: str, unit: str, reason: str, anchor: str | None = None) -> None:
        self.figure(scenario, measure, unit, anchor).failures.append(reason)

    def ratio(self, figure: Figure) -> str:
        anchor = self.figures.get((figure.scenario, figure.anchor or ""))
        if anchor is None or figure.median is None or not anchor.median:
            return "-"
        return f"{figure.median / anchor.median:.2f}"

    def rows(self) -> list[list[str]]:
        """Each figure, its anchor right after the first figure that names it."""
        ordered: list[Figure] = []
        for figure in self.figures.values():
            if figure in ordered or (figure.is_anchor and self._anchors_someone(figure)):
                continue
            ordered.append(figure)
            anchor = self.figures.get((figure.scenario, figure.anchor or ""))
            if anchor is not None and anchor not in ordered:
                ordered.append(anchor)
        rows = []
        for f in ordered:
            anchor = self.figures.get((f.scenario, f.anchor or ""))
            beside = f"{anchor.shown(anchor.median)} {anchor.unit}" if anchor is not None else ""
            runs = f"{len(f.values)}/{len(f.values) + len(f.failures)}"
            rows.append(
                [f.scenario, f.measure, f.unit, f.shown(f.median), f.spread(), runs, beside, self.ratio(f)]
            )
        return rows

    def _anchors_someone(self, anchor: Figure) -> bool:
        return any(
            f.scenario == anchor.scenario and f.anchor == anchor.measure for f in self.figures.values()
        )

    def table(self) -> str:
        header = [
            "scenario",
            "measure",
            "unit",
            "median",
            "range (min - max)",
            "runs",
            "anchor median",
            "ratio",
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join(lines)


def machine() -> str:
    """Cores, memory and processor of this machine, and the load it had when the run ended."""
    memory = "unknown memory"
    model = platform.processor() or platform.machine()
    try:
        meminfo = Path("/proc/meminfo").read_text().split()
        memory = f"{int(meminfo[meminfo.index('MemTotal:') + 1]) / 2**20:.1f} GiB RAM"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, ValueError):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), {memory}, load average at the end {load}"


def write_markdown(path: Path, results: Results, heading: str, sizes: str, chart: str | None) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [
        f"# {heading}",
        "",
        f"Run {stamp} by `python -m benchmarks all` on {machine()}.",
        "",
        f"Sizes: {sizes.rstrip('.')}.",
        "",
        "Median and range over the runs (each run alternates the service and its anchors); `runs` is",
        "runs measured / runs tried; `ratio` is the median over its anchor's median (for the send",
        "pipeline: the service's rate over the replaced design's). Generated: do not edit by hand.",
        "",
        results.table(),
        "",
    ]
    if chart:
        text += [f"![throughput]({chart})", ""]
    path.write_text("\n".join(text))
