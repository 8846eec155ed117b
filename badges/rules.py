"""Pure rule logic: no ORM, no Django. Matching payloads and deciding completion.

Group completion: requirements sharing a group letter are alternatives (OR); every group
must have at least one fulfilled requirement (AND).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressSummary:
    fulfilled_groups: frozenset[str]
    groups: frozenset[str]

    @property
    def complete(self) -> bool:
        return bool(self.groups) and self.fulfilled_groups >= self.groups

    @property
    def ratio(self) -> float:
        return len(self.fulfilled_groups & self.groups) / len(self.groups) if self.groups else 0.0


def summarize_progress(requirement_groups: Mapping[int, str], fulfilled: Iterable[int]) -> ProgressSummary:
    """Summarize progress for one template.

    ``requirement_groups`` maps each of the template's requirement ids to its group letter;
    ``fulfilled`` holds the ids of the learner's fulfilled requirements.
    """
    groups = frozenset(requirement_groups.values())
    done = frozenset(requirement_groups[r] for r in fulfilled if r in requirement_groups)
    return ProgressSummary(fulfilled_groups=done, groups=groups)
