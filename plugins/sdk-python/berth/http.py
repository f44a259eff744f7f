"""Outgoing HTTP through ``wasi:http``: a small blocking client, one request
at a time, bodies in memory with a size cap (like the Rust SDK's
``berth_plugin::http``).

berth sends a request only to hosts the plugin's manifest grants
(``[grants] http = ["api.example.com"]``); anything else fails with an
:class:`HttpError` of kind ``denied``. Redirects are not followed: a 3xx is
returned as is, and following it is a new request, checked again.

    from berth import http
    resp = http.get("https://api.github.com/zen", headers={"user-agent": "my-plugin"})
    return resp.text()

An :class:`HttpError` is a :class:`~berth.UserError`: left uncaught, the
client reads its message (a ``denied`` one as WIT ``denied``, an
``invalid-url`` one as ``invalid-params``).

The component must import ``wasi:http/outgoing-handler``: the build adds
the world ``wasi:http/imports@0.2.12`` for that.
"""

import json
from dataclasses import dataclass, field

from . import _wit
from .errors import UserError

try:
    from wit_world.imports import outgoing_handler, streams
    try:
        from wit_world.imports import wasi_http_types as _h
    except ImportError:
        from wit_world.imports import types as _h
except ImportError:  # built without wasi:http
    outgoing_handler = streams = _h = None

#: Default cap on a response body, bytes.
DEFAULT_MAX_BODY = 1 << 20

_DENIED = ("HttpRequestDenied", "DestinationIpProhibited", "ConnectionLimitReached")
_TIMEOUT = ("ConnectionTimeout", "ConnectionReadTimeout", "HttpResponseTimeout", "DnsTimeout")


class HttpError(UserError):
    """Why a request failed; ``kind`` is ``invalid-url``, ``denied``,
    ``too-large``, ``timeout`` or ``failed``."""

    _PREFIX = {"invalid-url": "invalid URL", "denied": "request refused by the host",
               "too-large": "response body too large", "timeout": "timed out",
               "failed": "request failed"}

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{self._PREFIX[kind]}: {detail}")
        self.kind = kind

    def to_wit(self):
        if self.kind == "denied":
            return _wit.types.Error_Denied(self.message)
        if self.kind == "invalid-url":
            return _wit.types.Error_InvalidParams(self.message)
        return _wit.types.Error_Failed(self.message)


def _from_code(code, cap: int) -> HttpError:
    name = type(code).__name__.removeprefix("ErrorCode_")
    if name in _DENIED:
        return HttpError("denied", name)
    if name == "HttpResponseBodySize":
        return HttpError("too-large", f"{name} (over the host's cap; this client's is {cap} bytes)")
    if name in _TIMEOUT:
        return HttpError("timeout", name)
    return HttpError("failed", name)


@dataclass
class Response:
    """A response, its body read in full.

    Attributes:
        status: The status code.
        headers: Header names (lowercase) and values, in order.
        body: The body.
    """

    status: int
    headers: list = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), as text."""
        name = name.lower()
        return next((v.decode(errors="replace") for k, v in self.headers if k.lower() == name),
                    None)

    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode(errors="replace")

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)


def _split_url(url: str):
    scheme, sep, rest = url.partition("://")
    scheme = {"https": "Https", "http": "Http"}.get(scheme.lower()) if sep else None
    if scheme is None:
        raise HttpError("invalid-url", f"{url}: only http:// and https:// URLs")
    rest = rest.split("#", 1)[0]
    end = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0], default=len(rest))
    authority, path = rest[:end], rest[end:]
    if not authority or "@" in authority:
        raise HttpError("invalid-url", f"{url}: no host, or user info")
    return getattr(_h, f"Scheme_{scheme}")(), authority, path or "/"


def request(method: str, url: str, *, headers: dict | None = None, body: bytes | str | None = None,
            max_body: int = DEFAULT_MAX_BODY, timeout_ms: int | None = None) -> Response:
    """Sends a request and reads the response.

    Args:
        method: ``GET``, ``POST``, ...
        url: An absolute ``https://`` (or, where berth allows, ``http://``) URL.
        headers: Header names and values.
        body: The request body (text is sent as UTF-8).
        max_body: Most bytes of response body to accept.
        timeout_ms: How long to wait for the response to start (berth caps it).

    Raises:
        HttpError: refused, failed, timed out or too large.
    """
    if _h is None:
        raise RuntimeError("this component was built without wasi:http")
    scheme, authority, path = _split_url(url)
    fields = _h.Fields()
    for k, v in (headers or {}).items():
        try:
            fields.append(k, v.encode() if isinstance(v, str) else bytes(v))
        except _wit.Err as e:
            raise HttpError("failed", f"header {k}: {type(e.value).__name__}") from None
    req = _h.OutgoingRequest(fields)
    method = method.upper()
    kinds = {"GET": "Get", "HEAD": "Head", "POST": "Post", "PUT": "Put", "DELETE": "Delete",
             "PATCH": "Patch", "OPTIONS": "Options"}
    wit_method = getattr(_h, f"Method_{kinds[method]}")() if method in kinds \
        else _h.Method_Other(method)
    for setter, value, what in ((req.set_method, wit_method, "method"),
                                (req.set_scheme, scheme, "scheme"),
                                (req.set_authority, authority, "host"),
                                (req.set_path_with_query, path, "path")):
        try:
            setter(value)
        except _wit.Err:
            raise HttpError("invalid-url", f"{what} in {url}") from None
    out_body = req.body()
    options = _h.RequestOptions()
    if timeout_ms is not None:
        options.set_first_byte_timeout(timeout_ms * 1_000_000)
    try:
        pending = outgoing_handler.handle(req, options)
    except _wit.Err as e:
        raise _from_code(e.value, max_body) from None
    if body is not None:
        data = body.encode() if isinstance(body, str) else bytes(body)
        with out_body.write() as stream:
            for i in range(0, len(data), 4096):
                stream.blocking_write_and_flush(data[i:i + 4096])
    try:
        _h.OutgoingBody.finish(out_body, None)
    except _wit.Err as e:
        raise _from_code(e.value, max_body) from None
    with pending:
        with pending.subscribe() as ready:
            ready.block()
        outcome = pending.get()
    if outcome is None or isinstance(outcome, _wit.Err):
        raise HttpError("failed", "the response was lost")
    result = outcome.value
    if isinstance(result, _wit.Err):
        raise _from_code(result.value, max_body)
    with result.value as resp:
        status = resp.status()
        with resp.headers() as fields:
            header_list = fields.entries()
        data = _read_body(resp.consume(), max_body)
    return Response(status, header_list, data)


def _read_body(incoming, cap: int) -> bytes:
    chunks, size = [], 0
    with incoming:
        with incoming.stream() as stream:
            while True:
                try:
                    chunk = stream.blocking_read(64 * 1024)
                except _wit.Err as e:
                    if isinstance(e.value, streams.StreamError_Closed):
                        break
                    code = _h.http_error_code(e.value.value)
                    raise (_from_code(code, cap) if code is not None
                           else HttpError("failed", e.value.value.to_debug_string())) from None
                size += len(chunk)
                if size > cap:
                    raise HttpError("too-large", f"over {cap} bytes")
                chunks.append(chunk)
    return b"".join(chunks)


def get(url: str, **kwargs) -> Response:
    """A GET request (keyword arguments as :func:`request`)."""
    return request("GET", url, **kwargs)


def post(url: str, body: bytes | str, **kwargs) -> Response:
    """A POST request with ``body`` (keyword arguments as :func:`request`)."""
    return request("POST", url, body=body, **kwargs)
