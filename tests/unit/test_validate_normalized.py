"""The pipeline's shortcut for user_data that capigate.normalize wrote gives the full findings."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.findings import Finding
from capigate.normalize import normalize_user_data
from capigate.validate.user_data import (
    check_normalized_user_data,
    check_user_data,
    normalized_user_data_is_clean,
)
from tests.unit.test_normalize_memo import VALUES
from tests.unit.test_normalize_properties import KEYS, REGIONS

SOURCES = st.sampled_from(["website", "app", "chat", "business_messaging", None])
CLEAR_VALUES = st.sampled_from(
    [
        "10.0.0.1",
        "84.54.70.5",
        "2001:db8::1",
        "1" * 64,
        "a" * 64,
        "123456789012345",
        "0000",
        "x",
        "Mozilla/5.0",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.dictionaries(st.sampled_from(KEYS), VALUES | CLEAR_VALUES, max_size=7),
    region=st.sampled_from(REGIONS),
    source=SOURCES,
    baseline=st.booleans(),
)
def test_normalized_user_data_gets_the_same_findings_either_way(
    raw: dict[str, Any], region: str | None, source: str | None, baseline: bool
) -> None:
    """check_normalized_user_data == check_user_data on anything normalize_user_data returns."""
    user_data, _ = normalize_user_data(raw, default_region=region)
    full: list[Finding] = []
    short: list[Finding] = []
    check_user_data(user_data, source, baseline, full)
    check_normalized_user_data(user_data, source, baseline, short)
    assert short == full
    assert normalized_user_data_is_clean(user_data, source, baseline) == (not full)
