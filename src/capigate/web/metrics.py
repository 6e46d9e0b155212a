"""A tiny Prometheus registry: counters and gauges rendered as text exposition format 0.0.4.

Label values are fixed vocabularies (statuses, reasons, source names), never request data.
"""

from __future__ import annotations

from collections.abc import Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_Labels = tuple[tuple[str, str], ...]

# name -> (type, help); only metrics declared here can be recorded.
DECLARED: Mapping[str, tuple[str, str]] = {
    "capigate_ingest_events_total": ("counter", "Events accepted at ingest, by status."),
    "capigate_ingest_rejected_total": (
        "counter",
        "Ingest requests refused, by reason (every event in them was refused).",
    ),
    "capigate_ingest_requests_total": ("counter", "Ingest requests answered, by HTTP status."),
    "capigate_outbox_depth": ("gauge", "Events waiting for delivery (queued, retry, leased)."),
    "capigate_outbox_high_water": ("gauge", "Outbox depth above which ingest answers 503."),
    "capigate_sandbox": (
        "gauge",
        "1 when no Meta access token is set (events go to the emulator).",
    ),
    "capigate_delivery_requests_total": (
        "counter",
        "Graph requests sent by the in-process worker, by pixel and outcome.",
    ),
    "capigate_delivery_events_total": (
        "counter",
        "Events settled by the in-process worker, by pixel and result.",
    ),
    "capigate_delivery_mismatch_total": (
        "counter",
        "2xx answers whose events_received differed from the events sent, by pixel.",
    ),
    "capigate_delivery_paused": (
        "gauge",
        "1 while a pixel's delivery waits for a working access token.",
    ),
    "capigate_webhooks_total": ("counter", "Payment webhooks applied, by provider and status."),
    "capigate_webhooks_refused_total": (
        "counter",
        "Payment webhooks refused, by provider and reason.",
    ),
}


class Metrics:
    """Counters and gauges in memory; ``render()`` gives the exposition text."""

    def __init__(self) -> None:
        self._values: dict[str, dict[_Labels, float]] = {name: {} for name in DECLARED}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to a counter."""
        series = self._values[name]
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + float(amount)

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        self._values[name][tuple(sorted(labels.items()))] = float(value)

    def counter(self, name: str, *label_names: str) -> Counter:
        """``name``'s series by the values of ``label_names``, for hot paths (``Counter``)."""
        return Counter(self._values[name], label_names)

    def value(self, name: str, **labels: str) -> float:
        """The current value of one series (0.0 if never recorded)."""
        return self._values[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """Every declared metric, with HELP and TYPE lines."""
        lines: list[str] = []
        for name, (kind, help_text) in DECLARED.items():
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(self._values[name].items()):
                lines.append(f"{name}{_format_labels(labels)} {_format_value(value)}")
        return "\n".join(lines) + "\n"


class Counter:
    """One counter's series looked up by label values, their sorted label tuples built once.

    Label values are fixed vocabularies, so the cache stays small.
    """

    def __init__(self, series: dict[_Labels, float], label_names: tuple[str, ...]) -> None:
        self._series = series
        self._names = label_names
        self._keys: dict[tuple[str, ...], _Labels] = {}

    def inc(self, *values: str, amount: float = 1.0) -> None:
        """Add ``amount`` to the series with these label values (in ``label_names`` order)."""
        key = self._keys.get(values)
        if key is None:
            key = self._keys[values] = tuple(sorted(zip(self._names, values, strict=True)))
        self._series[key] = self._series.get(key, 0.0) + amount


def _format_labels(labels: _Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
