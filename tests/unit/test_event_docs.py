"""The event schema document is generated from the event classes, and CI fails when it is stale.

Every event class declares its own `class_version`, and every version above 1 has its upcasters,
so an analyst replaying old history gets today's shape.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from domain.event_catalogue import AGGREGATES, catalogue, event_classes

ROOT = Path(__file__).resolve().parents[2]


def test_docs_events_md_matches_the_event_classes():
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "event_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr + "\n(run .venv/bin/python scripts/event_docs.py)"


def test_every_event_class_declares_its_version_and_the_upcasters_to_reach_it():
    classes = [cls for aggregate in AGGREGATES for cls in event_classes(aggregate)]
    assert len(classes) == 41  # with StepOpened and StepClicked, the three of ApiKeys, PlanChanged,
    # BrandSuspended, BrandReinstated and QuietHoursChanged, the three of AddressConsent, ContactOptedOut,
    # PersonErased, ResealingBegun and EventsResealed
    for cls in classes:
        # The library wraps each class in subclasses of the same name: ours is among the domain's.
        declared = [
            k for k in cls.__mro__ if k.__module__.startswith("domain.") and "class_version" in vars(k)
        ]
        assert declared, f"{cls.__qualname__} declares no class_version"
        for version in range(1, cls.class_version):
            assert callable(getattr(cls, f"upcast_v{version}_v{version + 1}", None)), cls.__qualname__


def test_the_document_lists_each_event_with_its_version_and_fields():
    text = (ROOT / "docs" / "events.md").read_text()
    for schema in catalogue():
        assert f"### {schema.name} (version {schema.version})" in text
        for field in schema.fields:
            assert f"| `{field.name}` | `{field.type}` |" in text
    assert "| `personalisation` | `str` | `'template'` |" in text
    assert "- v1 -> v2: Added `personalisation`" in text


def test_no_event_field_is_named_like_a_secret():
    """Events are published and shown to API callers: a credential has no place in one."""
    secretive = re.compile(r"credential|secret|token|password|auth", re.IGNORECASE)
    assert [f"{s.name}.{f.name}" for s in catalogue() for f in s.fields if secretive.search(f.name)] == []
