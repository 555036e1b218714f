"""Shared pytest set-up: heavy suites run only when asked for."""

import os

import pytest

HEAVY = os.environ.get("NEUROCOSIM_HEAVY", "") not in ("", "0")


def pytest_collection_modifyitems(config, items):
    if HEAVY or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="heavy suite: run with NEUROCOSIM_HEAVY=1 or -m heavy")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
