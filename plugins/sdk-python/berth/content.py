"""Content blocks for tool results and prompt messages, and how a tool's
return value becomes a result.

A tool may return:

- ``str``: one text block;
- a ``dict``, ``list``, dataclass or TypedDict: structured content, and the
  same JSON as text for clients that read only ``content`` (as the Rust
  SDK's ``structured``);
- ``int``, ``float`` or ``bool``: its JSON as text;
- ``None``: no content;
- a content block (:func:`text`, :func:`image`, ...) or a list of them;
- a :class:`ToolResult`, for full control (e.g. ``is_error=True``).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from . import _wit
from .schema import dumps

_T = _wit.types


def text(text: str):
    """A text block."""
    return _T.Content_Text(_T.TextContent(text=text, annotations=None))


def image(data: bytes, mime_type: str):
    """An image block (``image/png``, ...); berth base64-encodes ``data``."""
    return _T.Content_Image(_T.BinaryContent(data=data, mime_type=mime_type, annotations=None))


def audio(data: bytes, mime_type: str):
    """An audio block (``audio/wav``, ...); berth base64-encodes ``data``."""
    return _T.Content_Audio(_T.BinaryContent(data=data, mime_type=mime_type, annotations=None))


def resource_link(uri: str, name: str, *, title: str | None = None,
                  description: str | None = None, mime_type: str | None = None,
                  size: int | None = None):
    """A link to a resource the client may read."""
    return _T.Content_ResourceLink(_T.ResourceLink(
        uri=uri, name=name, title=title, description=description,
        mime_type=mime_type, size=size, annotations=None))


def text_contents(uri: str, text: str, mime_type: str | None = "text/plain"):
    """Text contents of the resource at ``uri``."""
    return _T.ResourceContents_Text(
        _T.TextResourceContents(uri=uri, mime_type=mime_type, text=text))


def blob_contents(uri: str, data: bytes, mime_type: str | None = None):
    """Binary contents of the resource at ``uri``."""
    return _T.ResourceContents_Blob(
        _T.BlobResourceContents(uri=uri, mime_type=mime_type, blob=data))


def embedded(contents):
    """A resource embedded in a result, from :func:`text_contents` or
    :func:`blob_contents`."""
    return _T.Content_Resource(_T.EmbeddedResource(contents=contents, annotations=None))


_CONTENT = (_T.Content_Text, _T.Content_Image, _T.Content_Audio,
            _T.Content_ResourceLink, _T.Content_Resource)


def is_content(value) -> bool:
    """Whether ``value`` is a content block."""
    return isinstance(value, _CONTENT)


@dataclass
class ToolResult:
    """A tool result, spelled out.

    Attributes:
        content: Content blocks (a ``str`` is one text block).
        structured: Any JSON-able value, sent as ``structuredContent``.
        is_error: The tool failed in a way the model should see.
    """

    content: Any = field(default_factory=list)
    structured: Any = None
    is_error: bool = False


def call_result(value):
    """The WIT ``call-result`` for a tool's return ``value``."""
    if isinstance(value, ToolResult):
        blocks = [text(value.content)] if isinstance(value.content, str) else list(value.content)
        structured = None if value.structured is None else dumps(value.structured)
        return _wit.tools.CallResult(content=blocks, structured_content=structured,
                                     is_error=value.is_error)
    if value is None:
        blocks, structured = [], None
    elif isinstance(value, str):
        blocks, structured = [text(value)], None
    elif is_content(value):
        blocks, structured = [value], None
    elif isinstance(value, list) and value and all(is_content(v) for v in value):
        blocks, structured = value, None
    elif isinstance(value, (dict, list, tuple)) or (
            dataclasses.is_dataclass(value) and not isinstance(value, type)):
        structured = dumps(value)
        blocks = [text(structured)]
    else:
        blocks, structured = [text(dumps(value))], None
    return _wit.tools.CallResult(content=blocks, structured_content=structured, is_error=False)
