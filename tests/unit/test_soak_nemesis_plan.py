"""The soak's nemesis plans a schedule from its seed alone (soak/nemesis.py): the same seed, the
same faults at the same moments; every kind of fault at least once, within the faulty phase, on
a role that exists; and as many more as asked."""

from __future__ import annotations

import random

from soak.nemesis import KINDS, plan
from soak.role_processes import ROLES


def test_a_seed_names_its_faults_and_every_kind_comes():
    for seed in range(50):
        faults = plan(random.Random(seed), 40.0)
        assert faults == plan(random.Random(seed), 40.0)
        assert {f.kind for f in faults} == set(KINDS)
        assert 4 + 2 <= len(faults) <= 4 + 5
        assert all(0 <= f.at <= 40 for f in faults) and [f.at for f in faults] == sorted(f.at for f in faults)
        assert all(f.target in ROLES for f in faults if f.kind in ("kill", "pause"))


def test_without_extra_faults_each_kind_comes_once():
    faults = plan(random.Random(7), 10.0, extra=(0, 0))
    assert sorted(f.kind for f in faults) == sorted(KINDS)
