"""Graph API answers: the error envelope (spec §1.4), the canonical errors (§12.1-2), trace ids.

Absent fields are left out, as Graph does: a 190 has no ``error_subcode``, a 104 no
``error_user_msg``. ``is_transient`` is always present because Meta's SDK reads it.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capigate.errors import GatewayError

_TRACE_ALPHABET = string.ascii_letters + string.digits + "-_"
GRAPH_DOCS = (
    "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
)
PARAM_ERROR_TITLE = "Server Side Api Parameter Error"
SUBCODE_PARAM_ERROR = 2804019


@dataclass(frozen=True, slots=True)
class GraphError:
    """One Graph API error answer: HTTP status, the ``error`` object's fields, extra headers."""

    status: int
    code: int
    message: str
    type: str = "OAuthException"
    subcode: int | None = None
    is_transient: bool = False
    user_title: str | None = None
    user_msg: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self, fbtrace_id: str) -> dict[str, Any]:
        """The JSON body Graph sends: ``{"error": {...}}``."""
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.is_transient
        if self.user_title is not None:
            error["error_user_title"] = self.user_title
        if self.user_msg is not None:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}

    def summary(self) -> dict[str, Any]:
        """The fields a test wants to see in the request log."""
        return {
            "status": self.status,
            "code": self.code,
            "error_subcode": self.subcode,
            "message": self.message,
            "error_user_title": self.user_title,
            "error_user_msg": self.user_msg,
        }


class Refused(GatewayError):
    """Raised inside the emulator to answer with ``error``; the app turns it into a response."""

    def __init__(self, error: GraphError) -> None:
        super().__init__(error.message)
        self.error = error


def new_trace_id(rng: random.Random) -> str:
    """A random base64url string of 11 to 27 characters, shaped like Graph's ``fbtrace_id``."""
    return "".join(rng.choices(_TRACE_ALPHABET, k=rng.randint(11, 27)))


def invalid_parameter(subcode: int, title: str, user_msg: str) -> GraphError:
    """The answer to any payload fault: code 100 "Invalid parameter" plus a CAPI subcode."""
    return GraphError(
        400, 100, "Invalid parameter", subcode=subcode, user_title=title, user_msg=user_msg
    )


def param_error(user_msg: str) -> GraphError:
    """A schema fault (2804019): missing, unexpected or mistyped parameter."""
    return invalid_parameter(SUBCODE_PARAM_ERROR, PARAM_ERROR_TITLE, user_msg)


def refuse(subcode: int, title: str, user_msg: str) -> Refused:
    """A ``Refused`` carrying code 100 "Invalid parameter" with a CAPI subcode."""
    return Refused(invalid_parameter(subcode, title, user_msg))


def refuse_param(user_msg: str) -> Refused:
    """A ``Refused`` carrying a schema fault (2804019)."""
    return Refused(param_error(user_msg))


def missing_token() -> GraphError:
    """No ``access_token`` anywhere in the request (code 104)."""
    return GraphError(400, 104, "An access token is required to request this resource.")


def invalid_token() -> GraphError:
    """A token that is not one Graph knows (code 190)."""
    return GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")


def expired_token() -> GraphError:
    """A token that has expired (code 190, subcode 463)."""
    return GraphError(400, 190, "Error validating access token: Session has expired.", subcode=463)


def missing_appsecret_proof() -> GraphError:
    """The app requires ``appsecret_proof`` and the request has none."""
    return GraphError(
        400,
        100,
        "API calls from the server require an appsecret_proof argument",
        type="GraphMethodException",
    )


def invalid_appsecret_proof() -> GraphError:
    """``appsecret_proof`` is not HMAC-SHA256(access_token, app secret)."""
    return GraphError(
        400,
        100,
        "Invalid appsecret_proof provided in the API argument",
        type="GraphMethodException",
    )


def unknown_object(object_id: str, method: str = "post") -> GraphError:
    """A pixel or dataset id that does not exist or the token cannot reach (100/33)."""
    message = (
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        f"loaded due to missing permissions, or does not support this operation. {GRAPH_DOCS}"
    )
    return GraphError(400, 100, message, type="GraphMethodException", subcode=33)


def unknown_alias(object_id: str) -> GraphError:
    """A non-numeric id Graph cannot resolve as an alias (code 803)."""
    return GraphError(
        400, 803, f"(#803) Some of the aliases you requested do not exist: {object_id}"
    )


def unsupported_method(method: str, status: int) -> GraphError:
    """Anything but POST on the events edge (code 100)."""
    return GraphError(
        status,
        100,
        f"Unsupported {method.lower()} request. {GRAPH_DOCS}",
        type="GraphMethodException",
    )


def deprecated_version(version: str) -> GraphError:
    """A Graph API version configured as no longer callable (code 2635)."""
    message = f"(#2635) You are calling a deprecated version of the Ads API ({version})."
    return GraphError(400, 2635, message)


def unknown_path(path: str) -> GraphError:
    """A path that is not an edge this emulator knows (code 2500)."""
    return GraphError(400, 2500, f"Unknown path components: {path}")


def unreadable_body(reason: str) -> GraphError:
    """A body that is not JSON, form or multipart data this emulator can read."""
    return GraphError(400, 100, f"(#100) Could not read the request body: {reason}")


def too_many_events(count: int, limit: int) -> GraphError:
    """More events in ``data`` than one request may carry (spec §1.2: 1,000)."""
    message = f"(#100) Too many events in data: {count} sent, at most {limit} per request"
    return GraphError(400, 100, message)
