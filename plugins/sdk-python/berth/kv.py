"""Key-value state, kept by berth between calls (each call runs in a fresh
instance, so module globals do not survive it).

Values are stored as compact JSON, the same bytes the Rust SDK's
``kv::get``/``kv::set`` use, so plugins in either language read each
other's values. ``scope`` is :attr:`Scope.SESSION` by default (the
client's session: a legacy connection, or a session handle passed to a
``stateful`` tool) or :attr:`Scope.USER` (the authenticated caller, across
sessions).

    count = kv.get("count", 0) + 1
    kv.set("count", count)
    kv.set("theme", "dark", scope=Scope.USER, ttl=3600)
"""

import json
from datetime import timedelta

from . import _wit
from .errors import UserError
from .schema import dumps

Scope = _wit.context.Scope
_C = _wit.context


def _host(fn, *args):
    try:
        return fn(*args)
    except _wit.Err as e:
        raise _error(e.value) from None


def _error(e) -> UserError:
    """The user-facing error for a WIT ``kv-error`` (as the Rust SDK words it)."""
    if isinstance(e, _C.KvError_NoScope):
        return UserError("this call has no session: open one with berth_session_open "
                         "and pass it as `session`")
    if isinstance(e, _C.KvError_QuotaExceeded):
        return UserError(f"state quota exceeded: {e.value}")
    if isinstance(e, _C.KvError_InvalidKey):
        return UserError(f"invalid state key: {e.value}")
    return UserError(f"state unavailable: {getattr(e, 'value', e)}")


def _ttl_ms(ttl) -> int | None:
    if ttl is None:
        return None
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    return max(0, int(seconds * 1000))


def get(key: str, default=None, *, scope=Scope.SESSION):
    """The value at ``key``, or ``default`` when absent or expired.

    Raises:
        UserError: when berth refuses (no session, bad key) or the stored
            bytes are not JSON.
    """
    raw = _host(_C.kv_get, scope, key)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except ValueError as e:
        raise UserError(f"stored value at {key} is unreadable: {e}") from None


def set(key: str, value, *, scope=Scope.SESSION, ttl=None) -> None:  # noqa: A001
    """Stores ``value`` (any JSON-able value) at ``key``, expiring after
    ``ttl`` (seconds or a ``timedelta``) if given.

    Raises:
        UserError: when berth refuses (no session, quota, bad key).
    """
    _host(_C.kv_set, scope, key, dumps(value).encode(), _ttl_ms(ttl))


def delete(key: str, *, scope=Scope.SESSION) -> bool:
    """Deletes ``key``; true when it existed."""
    return _host(_C.kv_delete, scope, key)


def keys(prefix: str = "", *, scope=Scope.SESSION) -> list[str]:
    """The keys starting with ``prefix``, in order."""
    return _host(_C.kv_list, scope, prefix)


def get_bytes(key: str, *, scope=Scope.SESSION) -> bytes | None:
    """The raw bytes at ``key``, or ``None``."""
    return _host(_C.kv_get, scope, key)


def set_bytes(key: str, value: bytes, *, scope=Scope.SESSION, ttl=None) -> None:
    """Stores raw bytes at ``key``."""
    _host(_C.kv_set, scope, key, bytes(value), _ttl_ms(ttl))
