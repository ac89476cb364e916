"""Which links of an email step are tracked, and the tracked body: rewritten links and an open pixel."""

from __future__ import annotations

from domain.message_links import trackable_links, with_tracking


def click(index: int) -> str:
    return f"https://t.test/t/c/{index}"


PIXEL = "https://t.test/t/o/pixel"
HTML_BODY = (
    '<html><body><p>Hi <a href="https://example.com/a?x=1&amp;y=2">A</a>, '
    "<a class='c' href='https://example.com/b'>B</a> <a href=\"https://example.com/a?x=1&amp;y=2\">again</a> "
    '<a href="mailto:a@b.co">mail</a> <a href="https://example.com/u?n={{first_name}}">you</a></p></body></html>'
)


def test_an_html_body_tracks_each_http_link_once_in_order_without_placeholders_or_mailto():
    assert trackable_links(HTML_BODY) == ["https://example.com/a?x=1&y=2", "https://example.com/b"]


def test_an_html_body_gets_its_links_rewritten_and_the_pixel_before_the_end_of_the_body():
    tracked = with_tracking(HTML_BODY, trackable_links(HTML_BODY), click, PIXEL)
    assert tracked.count('href="https://t.test/t/c/0"') == 2
    assert "href='https://t.test/t/c/1'" in tracked
    assert 'href="mailto:a@b.co"' in tracked
    assert tracked.endswith(
        f'<img src="{PIXEL}" width="1" height="1" alt="" style="display:none"></body></html>'
    )


def test_a_personalised_link_not_in_the_step_body_is_left_untracked():
    template = '<p><a href="https://example.com/u?n={{first_name}}">you</a></p>'
    sent = '<p><a href="https://example.com/u?n=Ada">you</a></p>'
    tracked = with_tracking(sent, trackable_links(template), click, PIXEL)
    assert 'href="https://example.com/u?n=Ada"' in tracked
    assert "/t/c/" not in tracked and PIXEL in tracked


def test_a_plain_text_body_gets_its_bare_links_rewritten_and_no_pixel():
    body = "See https://example.com/a. Or (https://example.com/b), not https://example.com/a/deeper\n"
    links = trackable_links(body)
    assert links == ["https://example.com/a", "https://example.com/b", "https://example.com/a/deeper"]
    tracked = with_tracking(body, links[:2], click, PIXEL)
    assert (
        tracked == "See https://t.test/t/c/0. Or (https://t.test/t/c/1), not https://example.com/a/deeper\n"
    )


def test_a_plain_text_link_with_a_placeholder_is_not_trackable():
    assert trackable_links("Your page: https://example.com/p/{{id}} and https://example.com/ok") == [
        "https://example.com/ok"
    ]


def test_a_plain_http_link_is_tracked_as_well_as_https_in_any_case():
    body = '<p><a href="http://example.com/old">old</a> <a href="HTTPS://example.com/NEW">new</a></p>'
    assert trackable_links(body) == ["http://example.com/old", "HTTPS://example.com/NEW"]
