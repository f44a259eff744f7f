"""Log messages: sent to the client of the current request (when it asked
for the level, with ``logging/setLevel``) and to berth's own log.

``data`` is optional structured detail: any JSON-able value.

    from berth import log
    log.info("greeting Ada")
    log.warning("slow upstream", {"ms": 950})
"""

from . import _wit
from .schema import dumps

Level = _wit.types.LogLevel


def log(level, message: str, data=None) -> None:
    """Logs ``message`` at ``level`` (a :data:`Level` or its name, e.g.
    ``"info"``)."""
    if isinstance(level, str):
        level = Level[level.upper()]
    _wit.context.log(level, message, None if data is None else dumps(data))


def debug(message: str, data=None) -> None:
    """Logs at ``debug``."""
    log(Level.DEBUG, message, data)


def info(message: str, data=None) -> None:
    """Logs at ``info``."""
    log(Level.INFO, message, data)


def notice(message: str, data=None) -> None:
    """Logs at ``notice``."""
    log(Level.NOTICE, message, data)


def warning(message: str, data=None) -> None:
    """Logs at ``warning``."""
    log(Level.WARNING, message, data)


def error(message: str, data=None) -> None:
    """Logs at ``error``."""
    log(Level.ERROR, message, data)


def critical(message: str, data=None) -> None:
    """Logs at ``critical``."""
    log(Level.CRITICAL, message, data)
