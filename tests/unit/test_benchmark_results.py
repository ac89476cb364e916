"""The benchmark suite's report (benchmarks/suite/results.py): medians, ranges, anchors beside the figures
they anchor, ratios, and rows that say why they were not measured. No timing is asserted."""

from __future__ import annotations

from benchmarks.suite.results import Results


def test_a_figure_shows_its_median_range_and_ratio_to_its_anchor_on_the_row_before_the_anchor() -> None:
    results = Results()
    for value in (600.0, 700.0, 650.0):
        results.add("sends 2,000", "serve", "sends/s", value, anchor="anchor: replaced design")
    results.add("sends 2,000", "anchor: replaced design", "sends/s", 500.0)
    results.add("sends 2,000", "anchor: replaced design", "sends/s", 300.0)

    serve, anchor = results.rows()

    assert serve[1:6] == ["serve", "sends/s", "650", "600 - 700", "3/3"]
    assert serve[6:] == ["400 sends/s", "1.62"]
    assert anchor[1] == "anchor: replaced design"


def test_an_anchor_stays_beside_its_figure_whatever_order_they_were_measured_in() -> None:
    results = Results()
    results.add("reads", "anchor: bare route", "ms", 5.0)
    results.add("reads", "other", "MB", 1.0)
    results.add("reads", "p50", "ms", 10.0, anchor="anchor: bare route")

    assert [row[1] for row in results.rows()] == ["other", "p50", "anchor: bare route"]


def test_a_figure_never_measured_says_why_and_has_no_ratio() -> None:
    results = Results()
    results.fail("sends", "Kafka mode", "sends/s", "the Kafka broker did not start", anchor="anchor")
    results.add("sends", "anchor", "sends/s", 100.0)

    (kafka, _) = results.rows()

    assert kafka[3] == "-"
    assert kafka[4] == "not measured: the Kafka broker did not start"
    assert kafka[5] == "0/1"
    assert kafka[7] == "-"


def test_runs_that_failed_beside_runs_that_did_not_are_counted_and_explained() -> None:
    results = Results()
    results.add("launch", "enrolled", "contacts/s", 2000.0)
    results.fail("launch", "enrolled", "contacts/s", "10,000 enrolled not reached within 110 s")

    (row,) = results.rows()

    assert row[3] == "2,000"
    assert row[4] == "2,000 (1 run(s) failed: 10,000 enrolled not reached within 110 s)"
    assert row[5] == "1/2"
