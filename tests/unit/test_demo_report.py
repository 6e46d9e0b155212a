"""The demo's final table (pure): counts per plan key, reasons, and every disagreement named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console

from capigate.demo.report import NO_KEY, Report, build_report, table


@dataclass(frozen=True)
class Rec:
    """A stored event as the report reads it."""

    plan_key: str | None
    event_name: str
    event_id: str
    status: str = "delivered"
    attempts: int = 1
    match_score: int = 5
    last_error: dict[str, Any] | None = None
    reason: str | None = None


def _got(*records: Rec) -> list[dict[str, Any]]:
    return [{"event_name": r.event_name, "event_id": r.event_id} for r in records]


def _report(records: list[Rec], **changes: Any) -> Report:
    arguments: dict[str, Any] = {
        "duplicates": [],
        "received": _got(*(r for r in records if r.status == "delivered")),
        "graph_requests": 3,
        "plan_order": ["landing_view", "start_bot", "subscribe"],
    }
    arguments.update(changes)
    return build_report(records, **arguments)


DEAD_ERROR = {"code": 100, "subcode": 2804050, "title": "Insufficient customer information"}


def test_rows_count_each_outcome_per_plan_key_in_plan_order() -> None:
    """Accepted, delivered, retried, dead, expired, duplicates, at Meta and the match average."""
    records = [
        Rec("subscribe", "Subscribe", "sub_1", attempts=3, match_score=6),
        Rec("subscribe", "Subscribe", "sub_2", status="expired", attempts=0, reason="too old"),
        Rec("start_bot", "Start_Bot", "sb_1", status="dead", last_error=DEAD_ERROR),
        Rec("start_bot", "Start_Bot", "sb_2", match_score=7),
        Rec("landing_view", "ViewContent", "vc_1", match_score=4),
    ]
    report = _report(records, duplicates=[("Start_Bot", "sb_2"), ("Subscribe", "sub_1")])
    assert [r.plan_key for r in report.rows] == ["landing_view", "start_bot", "subscribe"]
    start, subscribe = report.rows[1], report.rows[2]
    assert (start.accepted, start.delivered, start.dead, start.duplicates) == (2, 1, 1, 1)
    assert (subscribe.delivered, subscribe.expired, subscribe.retried) == (1, 1, 1)
    assert subscribe.match_avg == 5.5 and start.at_meta == 1
    assert report.total.accepted == 5 and report.total.at_meta == 3
    assert report.total.duplicates == 2 and report.graph_requests == 3
    assert report.problems == ()


def test_endings_keep_metas_code_and_the_expiry_reason() -> None:
    """A dead event shows Meta's title with code/subcode; an expired one its stored reason."""
    records = [
        Rec("start_bot", "Start_Bot", "sb_1", status="dead", last_error=DEAD_ERROR),
        Rec("subscribe", "Subscribe", "sub_1", status="expired", reason="past 7 days"),
        Rec("start_bot", "Start_Bot", "sb_2", status="dead", last_error={"message": "refused"}),
    ]
    dead, expired, plain = _report(records).endings
    assert dead.reason == "Insufficient customer information (code 100/2804050)"
    assert (expired.status, expired.reason) == ("expired", "past 7 days")
    assert plain.reason == "refused"


def test_every_disagreement_is_a_problem() -> None:
    """Pending, unreceived, received twice, unknown, not delivered, no reason, lost duplicate."""
    delivered = Rec("landing_view", "ViewContent", "vc_1")
    missing = Rec("landing_view", "ViewContent", "vc_2")
    dead = Rec("start_bot", "Start_Bot", "sb_1", status="dead")
    waiting = Rec("subscribe", "Subscribe", "sub_1", status="retry")
    stranger = Rec("subscribe", "Subscribe", "sub_9")
    report = _report(
        [delivered, missing, dead, waiting],
        received=_got(delivered, delivered, dead, stranger),
        duplicates=[("Lead", "cta_1")],
    )
    problems = "\n".join(report.problems)
    for expected in (
        "Start_Bot sb_1: dead, no reason",
        "Lead cta_1: answered duplicate, none stored",
        "ViewContent vc_1: received by Meta more than once",
        "Start_Bot sb_1: received by Meta, but dead",
        "Subscribe sub_9: received by Meta, but not in the store",
        "subscribe: 1 events still on their way",
        "ViewContent vc_2: delivered, but Meta never received it",
    ):
        assert expected in problems
    assert report.total.pending == 1


def test_a_delivered_event_meta_never_received_is_a_problem() -> None:
    """Delivered per the store but absent from the emulator's record."""
    report = _report([Rec("landing_view", "ViewContent", "vc_1")], received=[])
    assert report.problems == (
        "ViewContent vc_1: delivered, but Meta never received it",
        "landing_view: 1 delivered, 0 received by Meta",
    )


def test_events_without_a_plan_key_get_their_own_row_last() -> None:
    """Events stored without a plan key are counted, after the plan's keys."""
    records = [Rec(None, "Purchase", "p_1"), Rec("start_bot", "Start_Bot", "sb_1")]
    report = _report(records)
    assert [r.plan_key for r in report.rows] == ["start_bot", NO_KEY]


def test_the_table_shows_rows_a_total_and_pending_only_when_some_are() -> None:
    """Rendered: one line per plan key plus the total; 'still pending' appears when needed."""
    done = _report([Rec("start_bot", "Start_Bot", "sb_1", match_score=6)])
    text = _render(done)
    assert "start_bot" in text and "Start_Bot" in text and "6.0" in text
    assert "total" in text and "still pending" not in text
    waiting = _report([Rec("start_bot", "Start_Bot", "sb_1", status="queued")])
    assert "still pending" in _render(waiting)


def _render(report: Report) -> str:
    console = Console(record=True, width=200)
    console.print(table(report))
    return console.export_text()


def test_graph_answers_are_counted_by_status_and_code() -> None:
    """The request log becomes counts: 200, 500 code 2, 400 code 100/2804050, dropped."""
    log = [
        {"status": 200, "error": None},
        {"status": 200, "error": None},
        {"status": 500, "error": {"code": 2, "error_subcode": None}},
        {"status": 400, "error": {"code": 100, "error_subcode": 2804050}},
        {"status": None, "error": None},
    ]
    report = _report([], graph_log=log)
    assert dict(report.answers) == {
        "200": 2,
        "500 code 2": 1,
        "400 code 100/2804050": 1,
        "no answer (connection dropped)": 1,
    }
    assert report.answers[0] == ("200", 2)
