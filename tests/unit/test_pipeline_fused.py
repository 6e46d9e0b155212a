"""prepare's fused walk gives exactly what the separate public steps give, one after another."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate import pipeline
from capigate.models import parse_wire
from capigate.normalize import normalize_user_data
from capigate.pipeline import PipelineOptions, Prepared, prepare
from capigate.quality import estimate
from capigate.validate import validate_event
from tests.unit.test_validate_clean import OPTIONS, RAW_USER_DATA, near_clean_events
from tests.unit.test_validate_factory import NOW_S, make_event

PIPELINES = [PipelineOptions(default_region="UZ", validation=options) for options in OPTIONS]


def unfused(event: Any, options: PipelineOptions) -> Prepared:
    """normalize_user_data, parse_wire and validate_event in turn, each checking everything."""
    if not isinstance(event, Mapping):
        return prepare(event, now_s=NOW_S, options=options)
    findings = []
    if isinstance(event.get("user_data"), Mapping):
        user_data, findings = normalize_user_data(
            event["user_data"], default_region="UZ", max_birth_year=2025
        )
        event = {**event, "user_data": user_data}
    wire, parse_findings = parse_wire(event)
    findings += parse_findings
    if wire is None:
        reported = {f.path for f in findings}
        check = validate_event(event, now_s=NOW_S, options=options.validation)
        findings += [f for f in check.findings if f.path not in reported]
        user_data = event.get("user_data")
        return Prepared(
            {}, tuple(findings), estimate(user_data if isinstance(user_data, Mapping) else {})
        )
    check = validate_event(wire, now_s=NOW_S, options=options.validation)
    return Prepared(check.event, (*findings, *check.findings), estimate(check.event["user_data"]))


@pytest.mark.parametrize("native", [True, False], ids=["c-if-built", "pure"])
@settings(max_examples=300, deadline=None)
@given(event=near_clean_events(), options=st.sampled_from(PIPELINES))
def test_prepare_equals_the_separate_steps(
    native: bool, event: dict[str, Any], options: PipelineOptions
) -> None:
    """Same payload (byte for byte), same findings in the same order, same quality, with the
    C fast path (when built) and with the pure one."""
    try:
        pipeline.use_native(native)
        fused = prepare(event, now_s=NOW_S, options=options)
    finally:
        pipeline.use_native(True)
    expected = unfused(event, options)
    assert orjson.dumps(fused.payload) == orjson.dumps(expected.payload)
    assert fused.findings == expected.findings
    assert fused.quality == expected.quality


def test_read_only_mappings_take_the_long_way_to_the_same_result() -> None:
    """An event or user_data that is a Mapping but not a dict is prepared all the same."""
    event = make_event("chat", user_data=dict(RAW_USER_DATA))
    frozen = MappingProxyType({**event, "user_data": MappingProxyType(event["user_data"])})
    expected = prepare(event, now_s=NOW_S, options=PIPELINES[0])
    got = prepare(frozen, now_s=NOW_S, options=PIPELINES[0])
    assert (got.payload, got.findings, got.quality) == (
        expected.payload,
        expected.findings,
        expected.quality,
    )
