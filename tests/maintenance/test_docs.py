"""The docstring examples of condition monitoring are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "maintenance.alerts",
    "maintenance.detector",
    "maintenance.evaluation.metrics",
    "maintenance.failure_modes",
    "maintenance.forecast",
    "maintenance.regression",
    "maintenance.thermal",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
