"""Resources (world ``plugin``): concrete ones at a URI, and families of
them under an RFC 6570 level-1 URI template (``notes://{id}``), each read
by a decorated function.

    @resource("config://app", mime_type="application/json")
    def app_config() -> dict:
        \"\"\"The app's configuration.\"\"\"
        return {"theme": "dark"}

    @resource("notes://{id}", mime_type="text/markdown")
    def note(id: str) -> str:
        \"\"\"One note, by id.\"\"\"
        text = kv.get(f"note:{id}", scope=Scope.USER)
        if text is None:
            raise NotFound(f"no note {id}")
        return text

A reader takes the template's variables by name (and ``uri`` if it wants
the URI) and returns ``str`` (text), ``bytes`` (a blob), a ``dict`` /
``list`` / dataclass (JSON text), or contents built with
:func:`berth.text_contents` / :func:`berth.blob_contents` (or a list of
them). ``@resource_list`` adds resources that live in state to
``resources/list`` (they are read through a template).
"""

import inspect
import re
import typing
from dataclasses import dataclass

from . import _wit
from .content import blob_contents, text_contents
from .errors import NotFound
from .schema import convert_text, dumps, parse_docstring

_VAR = re.compile(r"\{(\w+)\}")


@dataclass
class Resource:
    """A registered resource or template and its reader."""

    uri: str
    name: str
    title: str | None
    description: str | None
    mime_type: str | None
    fn: object
    hints: dict

    @property
    def is_template(self) -> bool:
        """Whether ``uri`` is a URI template."""
        return "{" in self.uri


RESOURCES: list[Resource] = []
LISTERS: list = []


def resource(uri: str, *, name: str | None = None, title: str | None = None,
             description: str | None = None, mime_type: str | None = None):
    """Registers the decorated function as the reader of ``uri`` (a URI, or
    a URI template with ``{name}`` variables the function takes by name).
    The description defaults to the docstring's first paragraph."""

    def register(fn):
        params = inspect.signature(fn).parameters
        names = set(_VAR.findall(uri)) | {"uri"}
        unknown = [p for p in params if p not in names]
        if unknown:
            raise TypeError(f"resource {uri}: {fn.__name__} takes {unknown}, "
                            f"which the URI does not provide")
        hints = typing.get_type_hints(fn, include_extras=True)
        RESOURCES.append(Resource(
            uri=uri, name=name or fn.__name__, title=title,
            description=description or parse_docstring(fn.__doc__)[0] or None,
            mime_type=mime_type, fn=fn,
            hints={p: hints.get(p, str) for p in params}))
        return fn

    return register


def resource_list(fn):
    """Registers a function returning more resources for ``resources/list``:
    dicts with ``uri`` and ``name`` (and optionally ``title``,
    ``description``, ``mime_type``, ``size``). It runs on every list, with
    the caller's context, so it may read state."""
    LISTERS.append(fn)
    return fn


def list_resources() -> list:
    """Concrete resources, then those the ``@resource_list`` functions add."""
    wit = _wit.resources
    out = [wit.Resource(uri=r.uri, name=r.name, title=r.title, description=r.description,
                        mime_type=r.mime_type, size=None, annotations=None, icons=[])
           for r in RESOURCES if not r.is_template]
    for lister in LISTERS:
        for d in lister():
            out.append(d if isinstance(d, wit.Resource) else wit.Resource(
                uri=d["uri"], name=d["name"], title=d.get("title"),
                description=d.get("description"), mime_type=d.get("mime_type"),
                size=d.get("size"), annotations=None, icons=[]))
    return out


def list_templates() -> list:
    """The resource templates."""
    return [_wit.resources.ResourceTemplate(
        uri_template=r.uri, name=r.name, title=r.title, description=r.description,
        mime_type=r.mime_type, annotations=None, icons=[])
        for r in RESOURCES if r.is_template]


def read(uri: str) -> list:
    """Reads ``uri`` with the resource of that URI, else the first template
    it matches.

    Raises:
        NotFound: when nothing serves ``uri``.
    """
    r, variables = next(((r, {}) for r in RESOURCES if r.uri == uri and not r.is_template),
                        (None, None))
    for t in RESOURCES if r is None else []:
        if t.is_template and (variables := match_template(t.uri, uri)) is not None:
            r = t
            break
    if r is None:
        raise NotFound(f"no resource at {uri}")
    kwargs = {k: convert_text(v, r.hints[k], k) for k, v in variables.items() if k in r.hints}
    if "uri" in r.hints:
        kwargs["uri"] = uri
    return contents(uri, r.mime_type, r.fn(**kwargs))


def contents(uri: str, mime_type: str | None, value) -> list:
    """A reader's return value as a list of resource contents."""
    kinds = (_wit.types.ResourceContents_Text, _wit.types.ResourceContents_Blob)
    if isinstance(value, kinds):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, kinds) for v in value):
        return value
    if isinstance(value, str):
        return [text_contents(uri, value, mime_type or "text/plain")]
    if isinstance(value, (bytes, bytearray)):
        return [blob_contents(uri, bytes(value), mime_type or "application/octet-stream")]
    return [text_contents(uri, dumps(value), mime_type or "application/json")]


def match_template(template: str, uri: str) -> dict | None:
    """The variables of ``uri`` if it matches the level-1 ``template``: each
    ``{name}`` takes one or more characters up to the next literal, never a
    ``/`` (as berth itself routes URIs)."""
    variables: dict = {}
    rest, t = uri, template
    while t:
        if t.startswith("{"):
            close = t.find("}")
            if close < 0:
                return None
            name, t = t[1:close], t[close + 1:]
            literal = t[:t.find("{")] if "{" in t else t
            if literal:
                end = rest.find(literal)
                if end < 0:
                    return None
            else:
                end = rest.find("/") if "/" in rest else len(rest)
            value = rest[:end]
            if not value or "/" in value:
                return None
            variables[name], rest = value, rest[end:]
        else:
            literal = t[:t.find("{")] if "{" in t else t
            if not rest.startswith(literal):
                return None
            rest, t = rest[len(literal):], t[len(literal):]
    return variables if not rest else None
