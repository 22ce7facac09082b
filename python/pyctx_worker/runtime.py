"""Request-scoped runtime context (tenant, request id, notebook cell...).

The worker sets the request's `runtime_context` (plain data) into a ContextVar
for the duration of that request and resets it afterwards. asyncio tasks copy
the context when created, so a task keeps the values of the request that
created it. User code reads it with get_context().
"""

import contextvars
import types

_current = contextvars.ContextVar("pyctx_runtime_context", default=None)


def get_context():
    """Read-only mapping of the running request's runtime context, or None."""
    return _current.get()


def enter(variables):
    """Set the context for a request; returns the token for leave()."""
    if variables is None:
        return _current.set(None)
    return _current.set(types.MappingProxyType(dict(variables)))


def leave(token):
    _current.reset(token)
