"""The cell seam: the one interface op_exec runs cells through, and the choice of layer.

Two layers implement it (same methods, same Outcome):
- ipython.py: a real IPython InteractiveShell hosted in the worker (IPython >= 7),
- builtin.py: the standard-library layer (magics.py, pretty.py, display.py).

create() picks one at worker start (PYCTX_IPYTHON: "auto", the default, or "off"),
so IPython is imported while the pool warms the worker, never on bind.
Non-cell requests (eval/call/method/attr) never come through here.
"""

import os

MODES = ("auto", "off")


class Outcome:
    """What running one cell produced, for the exec reply.

    value: the result object (or None); bundle: its (data, metadata) or None;
    error: {ename, evalue, traceback} or None; failed: the cell did not succeed
    (an error, or IPython's UsageError, which shows only as stderr text).
    """
    __slots__ = ("value", "bundle", "error", "failed")

    def __init__(self, value=None, bundle=None, error=None, failed=False):
        self.value, self.bundle, self.error = value, bundle, error
        self.failed = failed or error is not None


def requested_mode():
    mode = (os.environ.get("PYCTX_IPYTHON") or "auto").strip().lower()
    return mode if mode in MODES else "auto"


def create(worker):
    """The worker's shell: IPython's when wanted and importable, else the built-in one.
    Returns (shell, note): note says why IPython is not used, when it was wanted."""
    note = None
    if requested_mode() != "off":
        try:
            from . import ipython
            if ipython.usable_version() is not None:
                return ipython.IPythonShell(worker), None
            note = "IPython %s is older than 7" % ipython.IPython.__version__
        except ImportError as e:
            if getattr(e, "name", None) != "IPython":  # installed, but broken
                note = "IPython could not be imported: %s" % e
        except Exception as e:  # a broken IPython must not cost the worker
            import traceback
            note = "IPython could not start: %s: %s" % (type(e).__name__, e)
            worker.diag("%s\n%s" % (note, traceback.format_exc()))
    from .builtin import BuiltinShell
    return BuiltinShell(worker), note


def set_last_error(exc):
    """sys.last_type/value/traceback, as Python's REPL and IPython set them (pdb.pm())."""
    import sys
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
