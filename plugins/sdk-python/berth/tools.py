"""The ``@tool`` decorator: tool descriptors built from Python functions,
and dispatch of ``call-tool`` to them.

The input schema comes from the function's type hints, the description
from its docstring's first paragraph, each argument's description from the
docstring's ``Args:`` section (see :mod:`berth.schema`). All of this runs
when the module is imported, i.e. while the component is built, so a
mistake (an unsupported hint, no docstring) fails the build, and a call
pays only for converting its arguments.
"""

import inspect
import json
import re
import typing
from dataclasses import dataclass

from . import _wit, ask
from .content import ToolResult, call_result
from .errors import InvalidParams, NotFound
from .schema import Field, _is_class, dumps, function_fields, object_schema, parse_docstring, \
    schema_for, values_for

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


@dataclass
class Tool:
    """A registered tool: its WIT descriptor and its function."""

    descriptor: object
    fn: object
    fields: list[Field]
    takes_kwargs: bool


TOOLS: dict[str, Tool] = {}


def tool(fn=None, *, name: str | None = None, title: str | None = None,
         description: str | None = None, stateful: bool = False, read_only: bool = False,
         destructive: bool = False, idempotent: bool = False, open_world: bool | None = None,
         input_schema: dict | None = None, output_schema: dict | None = None):
    """Registers a function as a tool; use as ``@tool`` or ``@tool(...)``.

    Args:
        name: The tool's name (default: the function's). berth shows it as
            ``<prefix>_<name>``.
        title: A human-readable name.
        description: What the tool does, for the model (default: the
            docstring's first paragraph; one of them is required).
        stateful: The tool keeps state in ``Scope.SESSION`` (berth then
            accepts a session handle for it in the 2026-07-28 era).
        read_only: Hint: it does not modify its environment.
        destructive: Hint: it may perform destructive updates.
        idempotent: Hint: calling it twice has no further effect.
        open_world: Hint: it talks to an open world of external entities.
        input_schema: A JSON Schema replacing the one derived from the hints.
        output_schema: The JSON Schema of its structured result (default:
            derived when the return hint is a dataclass or TypedDict).

    The function is returned unchanged, so it can still be called (and
    tested) as plain Python.
    """

    def register(fn):
        tool_name = name or fn.__name__
        if not _NAME.match(tool_name):
            raise ValueError(f"tool name {tool_name!r}: use letters, digits, _, - and .")
        if tool_name in TOOLS:
            raise ValueError(f"two tools are named {tool_name!r}")
        if inspect.iscoroutinefunction(fn):
            raise TypeError(f"tool {tool_name}: async functions are not supported; use def")
        about, docs = parse_docstring(fn.__doc__)
        about = description or about
        if not about:
            raise ValueError(f"tool {tool_name}: write a docstring saying what it does")
        try:
            fields, takes_kwargs = function_fields(fn, docs)
            schema = input_schema or object_schema(fields)
            returns = typing.get_type_hints(fn, include_extras=True).get("return")
            out = output_schema
            if out is None and _is_class(returns) and returns is not ToolResult:
                out = schema_for(returns)
        except TypeError as e:
            raise TypeError(f"tool {tool_name}: {e}") from None
        hints = _wit.tools.ToolAnnotations(
            title=None,
            read_only_hint=True if read_only else None,
            destructive_hint=True if destructive else None,
            idempotent_hint=True if idempotent else None,
            open_world_hint=open_world,
        )
        TOOLS[tool_name] = Tool(
            descriptor=_wit.tools.Tool(
                name=tool_name,
                title=title,
                description=about,
                input_schema=dumps(schema),
                output_schema=None if out is None else dumps(out),
                annotations=hints if read_only or destructive or idempotent
                or open_world is not None else None,
                icons=[],
                stateful=stateful,
            ),
            fn=fn,
            fields=fields,
            takes_kwargs=takes_kwargs,
        )
        return fn

    return register(fn) if fn is not None else register


def list_tools() -> list:
    """The descriptors of every registered tool, for ``list-tools``."""
    return [t.descriptor for t in TOOLS.values()]


def call_tool(name: str, arguments: str, input):
    """Runs the tool ``name`` with JSON ``arguments``, for ``call-tool``.

    Raises:
        NotFound: for an unknown tool.
        InvalidParams: for arguments that are not a JSON object or do not fit.
    """
    t = TOOLS.get(name)
    if t is None:
        raise NotFound(f"no tool named {name}")
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except ValueError as e:
        raise InvalidParams(f"arguments are not JSON: {e}") from None
    if not isinstance(args, dict):
        raise InvalidParams("arguments must be a JSON object")
    kwargs = values_for(t.fields, args)
    if t.takes_kwargs:
        known = {f.name for f in t.fields}
        kwargs.update((k, v) for k, v in args.items() if k not in known)
    ask.begin(input)
    try:
        value = t.fn(**kwargs)
    except ask.NeedInput as question:
        return _wit.tools.ToolOutcome_Input(question.to_wit())
    return _wit.tools.ToolOutcome_Done(call_result(value))
