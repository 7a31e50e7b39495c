"""The docstring examples of the service core's pure modules are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["service_core.kpis.formulas"]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
