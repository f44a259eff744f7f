"""Errors a plugin raises on purpose, and what becomes of the others.

A :class:`UserError` (or one of its subclasses) is a deliberate failure:
its message reaches the client (for a tool, as a result with ``isError``),
so write it for the client. Any other exception is a bug: the SDK prints
the traceback to stderr (berth logs it for the operator) and then aborts
the call, which berth masks as "Internal error in tool ...".
"""

import os
import sys
import traceback

from . import _wit


class UserError(Exception):
    """The operation failed; the message is shown to the client (WIT ``failed``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_wit(self):
        """The WIT ``error`` variant for this exception."""
        return _wit.types.Error_Failed(self.message)


class InvalidParams(UserError):
    """The arguments are wrong; the message says how (WIT ``invalid-params``)."""

    def to_wit(self):
        return _wit.types.Error_InvalidParams(self.message)


class NotFound(UserError):
    """The named tool, resource or prompt does not exist (WIT ``not-found``)."""

    def to_wit(self):
        return _wit.types.Error_NotFound(self.message)


class Denied(UserError):
    """The caller may not do this (WIT ``denied``)."""

    def to_wit(self):
        return _wit.types.Error_Denied(self.message)


def guard(what: str, fn, *args):
    """Runs ``fn(*args)`` for an export: a :class:`UserError` becomes the WIT
    error, any other exception is printed and aborts the call (a trap)."""
    try:
        return fn(*args)
    except UserError as e:
        raise _wit.Err(e.to_wit()) from None
    except _wit.Err:
        raise  # a WIT error raised by hand is deliberate too
    except BaseException:  # noqa: BLE001  (a bug: the operator must see it)
        crash(what)


def crash(what: str):
    """Prints the exception being handled to stderr and traps."""
    sys.stderr.write(
        f"berth plugin: {what} raised an exception "
        "(the client sees an internal error):\n"
    )
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()
    os.abort()
