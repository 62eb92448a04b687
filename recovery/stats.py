"""Small statistics for the dashboard: rates and the two-proportion z-test."""

from __future__ import annotations

import math
from dataclasses import dataclass


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def two_proportion_z_test(success_a: int, n_a: int, success_b: int, n_b: int) -> ZTest | None:
    """Is B's rate different from A's? Two-sided test with a pooled proportion.

    None when a group is empty or the pooled rate is 0 or 1 (no variance: nothing to test)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (success_a + success_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return None
    z = (success_b / n_b - success_a / n_a) / math.sqrt(variance)
    p = math.erfc(abs(z) / math.sqrt(2))
    return ZTest(z=z, p_value=p)
