"""{{name}}: a berth plugin written in Python.

Every function decorated with @tool is a tool. Its type hints become the
input schema, the first paragraph of its docstring the description, and the
`Args:` section the description of each argument. Each call runs in a fresh
instance: keep anything that must outlive a call in `kv`.
"""

from typing import Literal

from berth import kv, log, tool


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
def count() -> dict:
    """Counts the calls of this tool in this session."""
    n = kv.get("count", 0) + 1  # session state (scope=Scope.USER: per caller)
    kv.set("count", n)
    log.info(f"call {n} in this session", {"count": n})
    return {"count": n}  # structured content, and its JSON as text
