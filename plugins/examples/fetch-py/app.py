"""fetch-py: GETs a URL on a host its manifest grants (`[grants] http`) and
returns the response body as text. berth, not this code, decides what may
be reached: a host not granted, plain http or a private address fails with
the wasi:http error berth gives.
"""

from typing import Optional

from berth import UserError, http, tool

#: Largest body returned, bytes.
MAX_BODY = 1 << 20
#: Most redirects followed (each is a new request, checked again by berth).
MAX_REDIRECTS = 5


@tool
def get(url: str, max_bytes: Optional[int] = None, timeout_ms: Optional[int] = None) -> str:
    """Fetches a URL (on a host this plugin is granted) and returns the body as text

    Args:
        url: An absolute https:// (or, where allowed, http://) URL.
        max_bytes: Most bytes of body to accept (default and at most 1 MiB).
        timeout_ms: How long to wait for the response to start, ms (berth caps it).
    """
    cap = min(max_bytes or MAX_BODY, MAX_BODY)
    for _ in range(MAX_REDIRECTS + 1):
        resp = http.get(url, headers={"user-agent": "berth-fetch"}, max_body=cap,
                        timeout_ms=timeout_ms)
        location = resp.header("location")
        if 300 <= resp.status < 400 and location:
            url = absolute(url, location)
        elif resp.status >= 400:
            raise UserError(f"HTTP {resp.status}: {resp.text()}")
        else:
            return resp.text()
    raise UserError(f"more than {MAX_REDIRECTS} redirects")


def absolute(base: str, to: str) -> str:
    """`to` (a Location header) made absolute against `base`."""
    if "://" in to:
        return to
    after_scheme = base.find("://") + 3
    slash = base.find("/", after_scheme)
    origin = base if slash < 0 else base[:slash]
    return f"{origin}/{to.lstrip('/')}"
