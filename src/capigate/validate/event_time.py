"""event_time (spec §7.1): seconds, not milliseconds; not too old; not in the future."""

from __future__ import annotations

from typing import Any

from capigate.findings import Finding
from capigate.validate.options import DAY_S, ValidationOptions
from capigate.validate.rules import found, kind

# No event happens after the year 5138 in seconds; a bigger value is milliseconds.
MILLISECONDS_ABOVE = 10**11

PATH = "$.event_time"


def check_event_time(
    event: dict[str, Any],
    action_source: object,
    now_s: float,
    options: ValidationOptions,
    out: list[Finding],
) -> None:
    """Check ``event["event_time"]``; a milliseconds value is converted to seconds in ``event``."""
    seconds = event.get("event_time")
    if seconds is None:
        return  # reported as a missing required field
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        out.append(
            found(
                "field_type",
                PATH,
                f"event_time must be an integer Unix time in seconds, not {kind(seconds)}.",
            )
        )
        return
    if seconds > MILLISECONDS_ABOVE:
        event["event_time"] = seconds = seconds // 1000
        out.append(
            found(
                "event_time_milliseconds",
                PATH,
                "event_time was in milliseconds; it was converted to seconds. Send seconds.",
            )
        )
    if not -MILLISECONDS_ABOVE <= seconds <= MILLISECONDS_ABOVE:  # beyond any float age
        rule = "event_time_in_future" if seconds > 0 else "event_time_too_old"
        out.append(found(rule, PATH, "event_time is not a Unix time in seconds; send one."))
        return
    store = action_source == "physical_store"
    max_age_s = options.physical_store_max_age_s if store else options.max_age_s
    age_s = now_s - seconds
    if age_s > max_age_s:
        out.append(
            found(
                "event_time_too_old",
                PATH,
                f"event_time is {age_s / DAY_S:.1f} days old; Meta accepts events up to "
                f"{max_age_s / DAY_S:g} days old and rejects the whole request otherwise. "
                "Drop the event or send events sooner.",
            )
        )
    elif -age_s > options.future_skew_s:
        out.append(
            found(
                "event_time_in_future",
                PATH,
                f"event_time is {-age_s:.0f} s in the future (tolerance "
                f"{options.future_skew_s:g} s). Check the sender's clock and that it sends "
                "Unix seconds.",
            )
        )
