"""Error bodies in the shape Google's APIs send, and the exception that carries them."""

from __future__ import annotations

from typing import Any

_STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


class ApiError(Exception):
    """An API answer other than 200, with its JSON body."""

    def __init__(self, code: int, body: dict[str, Any]):
        super().__init__(f"{code} {body['error']['message']}")
        self.code = code
        self.body = body

    @property
    def reason(self) -> str:
        """The first error's reason code."""
        return self.body["error"]["errors"][0]["reason"]


def error(
    code: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    location: str | None = None,
    location_type: str = "parameter",
    with_status: bool = True,
    details: list[dict[str, Any]] | None = None,
) -> ApiError:
    """An error in the shape Google's APIs send."""
    item: dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    if location is not None:
        item["location"] = location
        item["locationType"] = location_type
    body: dict[str, Any] = {"code": code, "message": message, "errors": [item]}
    if with_status:
        body["status"] = _STATUS_TEXT.get(code, "UNKNOWN")
    if details:
        body["details"] = details
    return ApiError(code, {"error": body})


def missing_key() -> ApiError:
    """The 403 for a request without a key."""
    return error(403, "forbidden", "The request is missing a valid API key.")


def invalid_key() -> ApiError:
    """The 400 API_KEY_INVALID for a key that is not accepted."""
    message = "API key not valid. Please pass a valid API key."
    return error(
        400,
        "badRequest",
        message,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            }
        ],
    )


def quota_exceeded() -> ApiError:
    # The real quotaExceeded body has no "status" member.
    """The 403 quotaExceeded once the day's units are spent."""
    return error(403, "quotaExceeded", QUOTA_MESSAGE, domain="youtube.quota", with_status=False)


def login_required() -> ApiError:
    """The 401 for a write attempted with a key only."""
    return error(
        401,
        "required",
        "Request is missing required authentication credential. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
        location="Authorization",
        location_type="header",
    )


def fault_error(kind: str) -> ApiError:
    """The bodies for the injectable HTTP faults (see ``Emulator.inject_fault``)."""
    if kind == "500":
        return error(500, "backendError", "Internal error encountered.")
    if kind == "503":
        return error(503, "backendError", "The service is currently unavailable.")
    if kind == "429":
        return error(
            429,
            "rateLimitExceeded",
            "Resource has been exhausted (e.g. check quota).",
            domain="youtube.quota",
        )
    if kind == "rate_limit_403":
        return error(
            403,
            "rateLimitExceeded",
            "The request cannot be completed because too many requests were sent in a short "
            "period of time.",
            domain="youtube.quota",
        )
    if kind == "user_rate_limit_403":
        return error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", domain="usageLimits")
    if kind == "quota":
        return quota_exceeded()
    raise ValueError(f"not an HTTP error fault: {kind!r}")


def not_found_path(path: str) -> ApiError:
    """The 404 for a path the API does not have."""
    return error(404, "notFound", f"Method not found: {path}")
