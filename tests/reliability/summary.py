"""The one summary line every fault-injection scenario prints, so a run can be read at a glance."""
from __future__ import annotations

from dataclasses import dataclass

#: Lines reported during this pytest run; ``conftest.pytest_terminal_summary`` prints them at the end.
REPORTED: list[str] = []


@dataclass
class ScenarioSummary:
    """What a scenario did and what it lost; reported as one ``[reliability]`` line."""

    scenario: str
    events: int = 0
    awards: int = 0
    provider_issues: int = 0
    duplicates: int = 0
    lost: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"[reliability] {self.scenario}: events={self.events} awards={self.awards} "
                f"provider_issues={self.provider_issues} duplicates={self.duplicates} lost={self.lost} "
                f"seconds={self.seconds:.1f}")

    def report(self) -> None:
        """Keep the line for the end-of-run summary (shown whatever pytest's capture mode)."""
        REPORTED.append(self.line())
