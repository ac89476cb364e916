"""The links of an email step's body that tracking may rewrite, and the rewriting itself.

A step's trackable links are the http(s) URLs of its body, each once, in order of appearance: in
an HTML body the `href` of each `<a>` (quoted, entities decoded), in a plain-text body the bare
URLs. A link holding a `{{placeholder}}` is left out, since each contact gets another URL. A click
link names a link by its index in this list of the *campaign's* step body, so a redirect can only
go where the campaign's author pointed; a sent body's link that is not exactly one of them (a
personalised or model-written URL) is left as it is, untracked. HTML bodies also get the 1x1 open
pixel; a plain-text body has no place for one, so its opens are not seen.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

HTML = re.compile(r"<\s*(html|body|p|div|br|a|table|span|b|i|strong|em|h[1-6]|ul|ol|li|img)\b", re.I)
ANCHOR_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
BARE_URL = re.compile(r"""https?://[^\s<>"'(){}\[\]]+""", re.I)
TRAILING = ".,;:!?"  # punctuation that ends a sentence, not a URL
BODY_END = re.compile(r"</body\s*>", re.I)


def is_html(body: str) -> bool:
    return HTML.search(body) is not None


def trackable_links(body: str) -> list[str]:
    """The links of a step's body a click token may name, by index."""
    found = _hrefs(body) if is_html(body) else _bare_urls(body)
    links: list[str] = []
    for url in found:
        if url.lower().startswith(("http://", "https://")) and "{{" not in url and url not in links:
            links.append(url)
    return links


def _hrefs(body: str) -> list[str]:
    return [html.unescape(match.group(3)).strip() for match in ANCHOR_HREF.finditer(body)]


def _bare_urls(body: str) -> list[str]:
    urls = []
    for match in BARE_URL.finditer(body):
        if body[match.end() : match.end() + 1] == "{":  # the start of a personalised URL
            continue
        urls.append(match.group(0).rstrip(TRAILING))
    return urls


def with_tracking(body: str, links: list[str], click_url: Callable[[int], str], pixel_url: str) -> str:
    """The body with each of `links` pointing at its click URL and, in HTML, the open pixel added."""
    if not is_html(body):
        return BARE_URL.sub(lambda match: _tracked_bare(match.group(0), links, click_url), body)

    def tracked_href(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3)).strip()
        if url not in links:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{click_url(links.index(url))}{match.group(2)}"

    tracked = ANCHOR_HREF.sub(tracked_href, body)
    pixel = f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" style="display:none">'
    ends = list(BODY_END.finditer(tracked))
    if ends:
        at = ends[-1].start()
        return tracked[:at] + pixel + tracked[at:]
    return tracked + pixel


def _tracked_bare(found: str, links: list[str], click_url: Callable[[int], str]) -> str:
    url = found.rstrip(TRAILING)
    if url not in links:
        return found
    return click_url(links.index(url)) + found[len(url) :]
