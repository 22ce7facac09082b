"""Resource limits of the worker process.

PYCTX_MEMORY_LIMIT (bytes) caps the worker's address space (RLIMIT_AS), so a
runaway allocation in a cell raises MemoryError in that cell, and the worker, its
state and the rest of the machine survive, instead of the kernel's OOM killer
ending the worker (or something else). Child processes inherit the limit, each
on its own. Applied once at start, before preloads; a limit the hard limit forbids
is lowered to it.
"""

import os


def apply_memory_limit():
    """Set RLIMIT_AS from PYCTX_MEMORY_LIMIT; returns the limit set, or None."""
    raw = os.environ.get("PYCTX_MEMORY_LIMIT")
    if not raw:
        return None
    try:
        limit = int(raw)
    except ValueError:
        return None
    if limit <= 0:
        return None
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return None
    return limit
