"""What berth tells a plugin about the request it serves, besides logs
and state: progress, cancellation, the caller, the client's abilities."""

from . import _wit

Identity = _wit.context.Identity
ClientFeature = _wit.context.ClientFeature


def progress(progress: float, total: float | None = None, message: str | None = None) -> None:
    """Reports progress (a no-op unless the client asked for it; values that
    do not increase are dropped)."""
    _wit.context.progress(float(progress), None if total is None else float(total), message)


def cancelled() -> bool:
    """True once the client has cancelled this request: check it between
    steps and return early."""
    return _wit.context.cancelled()


def principal() -> Identity:
    """The caller: ``subject`` (``"anonymous"`` without auth), ``tenant``
    and ``scopes``."""
    return _wit.context.principal()


def client_supports(feature) -> bool:
    """Whether the client can answer ``feature``: ``"elicitation"``,
    ``"sampling"`` or ``"roots"`` (or a :data:`ClientFeature`)."""
    if isinstance(feature, str):
        feature = ClientFeature[feature.upper()]
    return _wit.context.client_supports(feature)


def resource_updated(uri: str) -> None:
    """Tells subscribers that the resource at ``uri`` changed."""
    _wit.context.resource_updated(uri)
