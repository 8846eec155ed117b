"""Hypothesis settings and strategies shared by the fuzzing scenarios.

CI runs a fixed, derandomized profile (the same examples every run, bounded in count);
``BADGES_FUZZ_PROFILE=explore`` draws fresh random examples for a longer local hunt.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "explore", derandomize=False, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PROFILE = os.environ.get("BADGES_FUZZ_PROFILE", "ci")

#: Any code point, including lone surrogates (``st.text()`` leaves those out by default) and NUL.
any_character = st.characters(codec=None, categories=None, exclude_categories=())
#: Short text of any code points, weighted towards the ones that break storage.
hostile_text = st.one_of(
    st.text(any_character, max_size=24),
    st.sampled_from(["\x00", "\ud800", "\udfff", "a\x00b", "\u2028", "\x1b[31m", "'; DROP TABLE x; --", "%s%n"]),
)
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text)
json_values = st.recursive(
    json_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)
