"""probe-py: exercises every part of the Python SDK, for the SDK's tests.

Not an example to copy: each tool pins one behaviour (see the test driver
beside this directory).
"""

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Literal, Optional, TypedDict

from berth import (InvalidParams, Scope, ToolResult, UserError, assistant, cancelled,
                   client_supports, completer, elicit, image, kv, log, principal, progress,
                   prompt, resource, resource_list, text, tool, user)


class Color(Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    """A point on the plane.

    Attributes:
        x: Horizontal.
        y: Vertical.
    """

    x: float
    y: float = 0.0


class Stats(TypedDict):
    count: int
    mean: float


@tool
def boom(message: str = "secret detail") -> str:
    """Raises a plain exception: the client must see only an internal error."""
    raise ValueError(message)


@tool
def refuse(reason: str) -> str:
    """Raises a UserError: the client must see its message as a tool error."""
    raise UserError(f"refused: {reason}")


@tool
def bad_args(n: int) -> str:
    """Raises InvalidParams when n is negative."""
    if n < 0:
        raise InvalidParams("n must not be negative")
    return str(n)


@tool(name="shapes", title="Shapes", idempotent=True)
def shapes(
    label: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list[str],
    mode: Literal["fast", "slow"],
    color: Color,
    origin: Point,
    note: Optional[str],
    size: Annotated[int, "How big."] = 3,
) -> dict:
    """Echoes its arguments, converted.

    Args:
        label: A label.
        count: How many.
        ratio: A ratio, which is a number
            spanning two lines.
        flag: A flag.
        tags: Some tags.
        mode: The mode.
        color: A color.
        origin: Where to start.
        note: Optional note.
    """
    return {"label": label, "count": count, "ratio": ratio, "flag": flag, "tags": tags,
            "mode": mode, "color": color.value, "origin": [origin.x, origin.y],
            "note": note, "size": size}


@tool(read_only=True)
def stats(values: list[float]) -> Stats:
    """Count and mean of some numbers (structured output with a schema)."""
    if not values:
        raise UserError("no values")
    return Stats(count=len(values), mean=sum(values) / len(values))


@tool
def contents() -> list:
    """Returns two content blocks: text and a 1-byte image."""
    return [text("two blocks"), image(b"\x89", "image/png")]


@tool
def soft_error() -> ToolResult:
    """Returns a result marked as an error, explicitly."""
    return ToolResult("soft failure", is_error=True)


@tool(stateful=True)
def remember(value: str, scope: Literal["session", "user"] = "session") -> str:
    """Stores a value in kv, logs with data, reports progress, reads the caller."""
    log.log("notice", "remembering", {"value": value, "scope": scope})
    progress(1, 2, "half way")
    previous = kv.get("value", scope=Scope[scope.upper()])
    kv.set("value", value, scope=Scope[scope.upper()])
    who = principal()
    return f"{previous}->{value} by {who.subject} cancelled={cancelled()}"


@tool
def kv_no_session() -> str:
    """Uses session state without being stateful (berth may refuse)."""
    kv.set("x", {"a": [1, 2.5, "é"]})
    return kv.get_bytes("x").decode()


@tool
def ask_name() -> str:
    """Asks the user for a name, then for an age (two rounds)."""
    if not client_supports("elicitation"):
        return "cannot ask"
    first = elicit("What is your name?", {"name": str})
    if not first.accepted:
        return f"no name ({first.action})"
    second = elicit("How old are you?", Point)
    age = f"{second.content.x:g}" if second.accepted else second.action
    return f"Hello, {first.content['name']} ({age})!"


@resource("probe://readme", mime_type="text/markdown")
def readme() -> str:
    """The probe's readme."""
    return "# probe"


@resource("probe://notes/{id}")
def note(id: int, uri: str) -> dict:
    """A note by numeric id."""
    return {"id": id, "uri": uri}


@resource_list
def listed() -> list:
    return [{"uri": "probe://notes/7", "name": "note-7"}]


@prompt
def review(code: str, language: Literal["python", "rust"] = "python") -> list:
    """Asks for a code review.

    Args:
        code: The code to review.
        language: Its language.
    """
    return [user(f"Review this {language} code:\n{code}"), assistant("Sure.")]


@completer("id", template="probe://notes/{id}")
def complete_id(value: str, context: dict) -> list[str]:
    return [str(i) for i in range(150) if str(i).startswith(value)]
