"""berth: write berth plugins (MCP tools as WebAssembly components) in Python.

A plugin is a Python module built by ``berth build`` (componentize-py) into
a component exporting the ``berth:plugin`` WIT interfaces. This package is
a thin layer over the generated bindings: decorators describe tools,
resources and prompts from type hints and docstrings, and small functions
reach what berth offers during a call (logs, progress, state, the caller,
questions to the client)::

    from berth import tool, log

    @tool(read_only=True)
    def greet(name: str) -> str:
        \"\"\"Greets someone by name.

        Args:
            name: Who to greet.
        \"\"\"
        log.info(f"greeting {name}")
        return f"Hello, {name}!"

Each call runs in a fresh instance of the component (module globals start
over every call); keep state with :mod:`berth.kv`. Raise :class:`UserError`
(or :class:`InvalidParams`, :class:`NotFound`, :class:`Denied`) for a
failure the client should read; any other exception is a bug, logged for
the operator and shown to the client as an internal error.

Modules: :mod:`berth.tools` (``@tool``), :mod:`berth.content` (results),
:mod:`berth.log`, :mod:`berth.kv`, :mod:`berth.context`, :mod:`berth.ask`
(elicitation, sampling, roots), :mod:`berth.resources` and
:mod:`berth.prompts` (world ``plugin``), :mod:`berth.schema` (type hints to
JSON Schema), :mod:`berth.errors`.
"""

from . import kv, log
from .ask import Elicited, elicit, roots, sample, sample_raw
from .content import (ToolResult, audio, blob_contents, embedded, image, resource_link,
                      text, text_contents)
from .context import cancelled, client_supports, principal, progress, resource_updated
from .errors import Denied, InvalidParams, NotFound, UserError
from .kv import Scope
from .prompts import assistant, completer, prompt, user
from .resources import resource, resource_list
from .tools import tool

__all__ = [
    "Denied", "Elicited", "InvalidParams", "NotFound", "Scope", "ToolResult", "UserError",
    "assistant", "audio", "blob_contents", "cancelled", "client_supports", "completer",
    "elicit", "embedded", "image", "kv", "log", "principal", "progress", "prompt",
    "resource", "resource_link", "resource_list", "resource_updated", "roots", "sample",
    "sample_raw", "text", "text_contents", "tool", "user",
]
