"""The console's credit balance chart (api/console/charts.py `balance_line`): the balance held
flat until the next entry, then stepping to it, from the left axis at the first entry to the right
end at the last, scaled between 0 (or the lowest balance) and the highest; no entries said in
words; and the drawing itself, to the pixel, as the credits page shows it (a change to the layout
changes this test on purpose)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from api.console.charts import balance_line

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
THREE = [(START, 100), (START + timedelta(hours=1), 40), (START + timedelta(hours=3), 70)]
HEAD = (
    '<svg class="line" role="img" aria-label="Balance" width="640" height="200" viewBox="0 0 640 200" '
    'xmlns="http://www.w3.org/2000/svg"><line x1="40" y1="160" x2="600" y2="160" class="axis"/>'
    '<line x1="40" y1="40" x2="40" y2="160" class="axis"/>'
)
DRAWN_THREE = (
    HEAD + '<text x="2" y="44.0" font-size="11">100</text><text x="2" y="164.0" font-size="11">0</text>'
    '<text x="40" y="188" font-size="11">2026-12-07 09:00</text>'
    '<text x="600" y="188" font-size="11" text-anchor="end">2026-12-07 12:00</text>'
    '<path d="M40.0,40.0 H226.7V112.0 H600.0V76.0" class="series"/></svg>'
)
DRAWN_EMPTY_BALANCE = (  # two entries a second apart, both 0: a flat line along the axis
    HEAD + '<text x="2" y="44.0" font-size="11">1</text><text x="2" y="164.0" font-size="11">0</text>'
    '<text x="40" y="188" font-size="11">2026-12-07 09:00</text>'
    '<text x="600" y="188" font-size="11" text-anchor="end">2026-12-07 09:00</text>'
    '<path d="M40.0,160.0 H600.0V160.0" class="series"/></svg>'
)


def test_the_balance_holds_until_the_next_entry_then_steps_to_it_across_the_whole_width():
    drawn = str(balance_line("Balance", THREE))
    path = re.search(r'<path d="([^"]+)"', drawn)
    assert path, "no line"
    steps = re.findall(r"[MHV][\d.]+", path.group(1).replace(",", "V"))  # M x,y -> Mx Vy
    assert steps[0] == "M40.0" and steps[1] == "V40.0"  # the first entry: left edge, at the top (100)
    assert [s[0] for s in steps[2:]] == ["H", "V", "H", "V"]  # flat, then a step, for each entry after
    assert steps[-2] == "H600.0"  # the last entry at the right edge


def test_no_entries_is_said_in_words():
    assert (
        str(balance_line("Balance <b>", []))
        == '<p class="empty">Balance &lt;b&gt;: no ledger entries yet.</p>'
    )


def test_a_balance_is_drawn_as_the_credits_page_shows_it():
    assert str(balance_line("Balance", THREE)) == DRAWN_THREE
    assert (
        str(balance_line("Balance", [(START, 0), (START + timedelta(seconds=1), 0)])) == DRAWN_EMPTY_BALANCE
    )
