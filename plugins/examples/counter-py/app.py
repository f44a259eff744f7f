"""counter-py: counts calls per session, in session-scoped state.

Each session (a legacy connection, or a modern handle from
`berth_session_open`) starts at zero.
"""

from berth import kv, tool


@tool(stateful=True)
def increment() -> int:
    """Adds one to this session's counter and returns it"""
    count = kv.get("count", 0) + 1
    kv.set("count", count)
    return count


@tool(stateful=True, read_only=True)
def get() -> int:
    """Returns this session's counter"""
    return kv.get("count", 0)


@tool(stateful=True)
def reset() -> int:
    """Sets this session's counter back to zero"""
    kv.delete("count")
    return 0
