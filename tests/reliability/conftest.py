"""Fault-injection scenarios: shared hooks. Each scenario reports one summary line, printed at the end."""
from __future__ import annotations

import pytest

from tests.reliability.summary import REPORTED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORTED:
        terminalreporter.section("reliability scenarios")
        for line in REPORTED:
            terminalreporter.write_line(line)
