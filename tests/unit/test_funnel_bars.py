"""The console's funnel chart (api/console/charts.py `funnel_bars`): one bar a stage, each its share
of the largest count, a stage with none still a sliver, each count written just past its bar,
every row clear of the next and all of it inside the drawing; and the drawing itself, to the pixel,
as the console's pages show it (a change to the layout changes this test on purpose)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.console.charts import BAR_WIDTH, funnel_bars

SVG = "{http://www.w3.org/2000/svg}"
LABEL = "Funnel of step s1: enrolled 4, sent 2, opened 0"
STAGES = [("enrolled", 4), ("sent", 2), ("opened", 0)]
DRAWN = (
    '<svg class="funnel" role="img" aria-label="Funnel of step s1: enrolled 4, sent 2, opened 0" '
    'width="510" height="70" viewBox="0 0 510 70" xmlns="http://www.w3.org/2000/svg">'
    '<text x="0" y="17" font-size="13">enrolled</text>'
    '<rect x="100" y="2" width="320" height="16" class="bar bar-enrolled"/>'
    '<text x="424" y="17" font-size="13">4</text>'
    '<text x="0" y="39" font-size="13">sent</text>'
    '<rect x="100" y="24" width="160" height="16" class="bar bar-sent"/>'
    '<text x="264" y="39" font-size="13">2</text>'
    '<text x="0" y="61" font-size="13">opened</text>'
    '<rect x="100" y="46" width="1" height="16" class="bar bar-opened"/>'
    '<text x="104" y="61" font-size="13">0</text>'
    "</svg>"
)


def _drawn(stages: list[tuple[str, int]]) -> ET.Element:
    return ET.fromstring(str(funnel_bars("a funnel", stages)))  # well-formed SVG, or this raises


def test_each_bar_is_its_share_of_the_largest_count_and_a_stage_with_none_is_a_sliver():
    bars = _drawn(STAGES).findall(f"{SVG}rect")
    assert [int(bar.get("width", "")) for bar in bars] == [BAR_WIDTH, BAR_WIDTH // 2, 1]
    assert [bar.get("class") for bar in bars] == ["bar bar-enrolled", "bar bar-sent", "bar bar-opened"]
    one = _drawn([("enrolled", 1), ("sent", 1), ("opened", 0)]).findall(f"{SVG}rect")
    assert [int(bar.get("width", "")) for bar in one] == [BAR_WIDTH, BAR_WIDTH, 1]  # one contact: full


def test_each_stage_is_named_before_its_bar_its_count_written_past_it_and_all_inside_the_drawing():
    svg = _drawn(STAGES)
    _, _, width, height = (int(part) for part in svg.get("viewBox", "").split())
    assert (svg.get("width"), svg.get("height")) == (str(width), str(height))
    texts, bars = svg.findall(f"{SVG}text"), svg.findall(f"{SVG}rect")
    names, counts = texts[0::2], texts[1::2]  # each row: its stage's name, then its count
    assert [t.text for t in names] == ["enrolled", "sent", "opened"]
    assert [t.text for t in counts] == ["4", "2", "0"]
    bottom = 0
    for name, bar, count in zip(names, bars, counts, strict=True):
        top, tall = int(bar.get("y", "")), int(bar.get("height", ""))
        left, wide = int(bar.get("x", "")), int(bar.get("width", ""))
        assert top >= bottom and top + tall <= height  # clear of the row above, inside the drawing
        assert top < int(name.get("y", "")) <= top + tall + 4 and name.get("y") == count.get("y")
        assert left + wide - 1 < int(count.get("x", "")) <= left + wide + 4  # just past its bar
        assert left + wide + 4 + 60 <= width  # room for a count of six figures
        bottom = top + tall


def test_a_funnel_is_drawn_as_the_console_shows_it():
    assert str(funnel_bars(LABEL, STAGES)) == DRAWN
