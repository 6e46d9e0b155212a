"""What validation, normalization and plan linting report: one ``Finding`` per problem."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # the event (or request) is not sent as it is
    WARNING = "warning"  # the event is sent; something was fixed, dropped or looks wrong


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where (JSONPath), which rule (stable slug), what to do, and its source.

    ``path`` is a JSONPath into the Meta event (``$.user_data.em``) or request
    (``$.data[3].user_data.em``); ``spec`` cites the section of Meta's rules (``§3.1``).
    """

    severity: Severity
    path: str
    rule: str
    message: str
    spec: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def under(self, prefix: str) -> Finding:
        """The same finding with its path moved below ``prefix`` (``$.data[3]``)."""
        rest = self.path[1:] if self.path.startswith("$") else f".{self.path}"
        return Finding(self.severity, prefix + rest, self.rule, self.message, self.spec)

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "spec": self.spec,
        }


def error(path: str, rule: str, message: str, spec: str = "") -> Finding:
    return Finding(Severity.ERROR, path, rule, message, spec)


def warning(path: str, rule: str, message: str, spec: str = "") -> Finding:
    return Finding(Severity.WARNING, path, rule, message, spec)
