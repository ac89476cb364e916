"""The run's throughput figures as a PNG bar chart (matplotlib, no display needed): each rate's
median with its range as an error bar, the service's bars beside the anchors' bars."""

from __future__ import annotations

from pathlib import Path

from benchmarks.suite.results import Results


def draw(results: Results, path: Path) -> bool:
    """Writes the chart; False when the run has no rate to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [f for f in results.figures.values() if f.unit.endswith("/s") and f.values]
    if not rates:
        return False
    labels = [f"{f.scenario}: {f.measure} ({f.unit})" for f in rates]
    medians = [f.median or 0.0 for f in rates]
    below = [m - min(f.values) for m, f in zip(medians, rates, strict=True)]
    above = [max(f.values) - m for m, f in zip(medians, rates, strict=True)]
    colours = ["#999999" if f.is_anchor else "#1f77b4" for f in rates]
    figure, axes = plt.subplots(figsize=(13, 0.45 * len(rates) + 1.8))
    positions = list(range(len(rates)))[::-1]
    axes.barh(positions, medians, xerr=[below, above], color=colours, capsize=3)
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("per second, log scale: median, whiskers = range over runs; grey = anchor")
    axes.set_title("Campaign Service benchmark suite: throughput")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
