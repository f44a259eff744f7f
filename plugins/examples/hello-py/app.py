"""hello-py: greets people. The smallest useful berth plugin, in Python."""

from berth import log, tool


@tool(read_only=True)
def greet(name: str) -> str:
    """Greets someone by name

    Args:
        name: Who to greet.
    """
    log.debug("composing a greeting")
    log.info(f"greeting {name}")
    return f"Hello, {name}!"
