"""{{name}}: a berth plugin written in Python.

Every function decorated with @tool is a tool. Its type hints become the
input schema, the first paragraph of its docstring the description, and the
`Args:` section the description of each argument. Each call runs in a fresh
instance: keep anything that must outlive a call in `kv`.
"""

from typing import Literal

from berth import UserError, kv, log, tool


@tool(read_only=True)
def greet(name: str, style: Literal["plain", "shout"] = "plain") -> str:
    """Greets someone by name.

    Args:
        name: Who to greet.
        style: How to say it.
    """
    greeting = f"Hello, {name}!"
    return greeting.upper() if style == "shout" else greeting


@tool(stateful=True)
def remember(note: str) -> dict:
    """Adds a note to this session's list and returns every note so far.

    Args:
        note: What to remember.
    """
    if not note.strip():
        raise UserError("the note is empty")  # the client sees this message
    notes = kv.get("notes", [])  # session state (kv.Scope.USER: per caller)
    notes.append(note)
    kv.set("notes", notes)
    log.info("remembered a note", {"count": len(notes)})
    return {"notes": notes}  # structured content, and its JSON as text
