"""The front door holds: the README opens with the two commands that do everything on a fresh
machine, CI runs the README's test command, and every relative link of the README, the
benchmarks' README and docs/ leads to a file of the repository (and to a heading of it, when the
link names one), never outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")


def relative_links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text()))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_every_relative_link_of_the_readme_and_docs_leads_to_a_file_in_the_repository():
    broken = []
    for page in PAGES:
        for target in relative_links(page):
            path, _, fragment = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_check_finds_a_link_that_leads_nowhere(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nSee [design](../shared/DESIGN.md), [here](#title), `[not](a-link)`.\n")
    assert relative_links(page) == ["../shared/DESIGN.md", "#title"]
    assert anchors(page) == {"title"}
    assert (
        anchor("From the command line: export, audit, replay") == "from-the-command-line-export-audit-replay"
    )


def test_the_readme_opens_with_the_two_commands_and_ci_runs_its_test_command():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert first_block is not None and readme.index("```sh") < 40  # right under the title
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["./scripts/serve.sh", "./scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec \./scripts/test\.sh\b", ci, re.M)
    assert (ROOT / "scripts" / "serve.sh").exists() and (ROOT / "scripts" / "test.sh").exists()
