"""Map SDK and transport exceptions of both providers onto our stable error kinds.

Both SDKs run on ``httpx2`` (not ``httpx``), and a stream cut mid-way surfaces from the
anthropic SDK as a raw ``httpx2.RemoteProtocolError``, so transport errors are recognised
by duck typing rather than by class.
"""

from __future__ import annotations

from collections.abc import Mapping

from commands.ai import base


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a provider asked us to wait (``retry-after-ms`` or ``retry-after``), if it said."""
    if headers is None:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            return None
        return seconds / 1000 if name.endswith("-ms") else seconds
    return None


def kind_for_status(status: int) -> str:
    """The error kind of an HTTP status returned by a provider."""
    if status == 529:
        return base.OVERLOADED
    if status == 429:
        return base.RATE_LIMITED
    if status in (401, 403):
        return base.AUTH
    if status in (408, 504):
        return base.TIMEOUT
    if status >= 500:
        return base.SERVER_ERROR
    return base.BAD_REQUEST


def _is_transport(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in {"httpx", "httpx2", "httpcore", "httpcore2"}


def classify(exc: BaseException, *, started: bool) -> base.ProviderError:
    """Classify an exception raised by either SDK; ``started`` says whether text had arrived."""
    if isinstance(exc, base.ProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return base.ProviderError(kind_for_status(status), f"HTTP {status}", retry_after=retry_after(headers))
    cause = exc.__cause__
    if cause is not None and _is_transport(cause) and not _is_transport(exc):
        exc = cause  # the openai SDK wraps a stream cut (RemoteProtocolError) in APIConnectionError
    name = type(exc).__name__
    if "Timeout" in name:
        return base.ProviderError(base.TIMEOUT, "the provider did not answer in time")
    if started or "RemoteProtocol" in name or (_is_transport(exc) and "Read" in name):
        return base.ProviderError(base.BROKEN_STREAM, f"the stream broke: {name}")
    if "Connection" in name or _is_transport(exc):
        return base.ProviderError(base.CONNECTION, f"could not reach the provider: {name}")
    return base.ProviderError(base.SERVER_ERROR, f"unexpected provider error: {name}")
