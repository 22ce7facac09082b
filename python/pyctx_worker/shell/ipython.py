"""IPython mode: cells run by a real IPython InteractiveShell hosted in the worker.

Modelled on ipykernel's ipkernel.py / zmqshell.py, minus ZMQ: the shell's display
publisher and displayhook hand their bundles to the worker (display events, and
the exec reply's result with its execution count); errors are recorded from
_showtraceback as ipykernel sends them. Framing, fd capture, interrupt, refs and
input() stay the worker's. The shell is configured where libraries look for a
kernel: 'IPKernelApp' in its config, a `kernel` attribute, "zmq" in its class
name (pandas' in_ipython_frontend()), matplotlib_inline as the default backend.
This module imports IPython: load it only at worker start (shell.create()).
"""

import os
import sys

from .. import display, execution
from ..protocol import Event
from . import Outcome

import IPython
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Any, Type
from traitlets.config import Config


def usable_version():
    return IPython.__version__ if IPython.version_info[0] >= 7 else None


def _clean(data):
    return {mime: display._norm_value(mime, v) for mime, v in (data or {}).items()}


class PyctxDisplayPublisher(DisplayPublisher):
    """display() / update_display() / clear_output() -> the worker's events."""
    sink = Any(None)

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        ev = {"event": Event.UPDATE_DISPLAY if update else Event.DISPLAY,
              "data": _clean(data), "metadata": dict(metadata or {})}
        if transient:
            ev["transient"] = dict(transient)
        self.sink(ev)

    def clear_output(self, wait=False):
        self.sink({"event": Event.CLEAR_OUTPUT, "wait": bool(wait)})


class PyctxDisplayHook(DisplayHook):
    """The cell's result: kept for the exec reply (execute_result), not printed."""
    bundle = None
    value = None
    sink = Any(None)

    def start_displayhook(self):
        if self.bundle is not None and self.sink is not None:
            # An earlier result of the same cell (ast_node_interactivity='all'):
            # shown now, the last one travels in the reply.
            self.sink({"event": Event.DISPLAY, "data": self.bundle[0],
                       "metadata": self.bundle[1]})
        self.bundle = None

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.bundle = (_clean(format_dict), dict(md_dict or {}))

    keep = True  # False for a run outside the history (store_history false): no Out/_N/_

    def update_user_ns(self, result):
        if self.keep:
            super().update_user_ns(result)

    def log_output(self, format_dict):
        if self.keep:
            super().log_output(format_dict)

    def fill_exec_result(self, result):
        super().fill_exec_result(result)
        self.value = result

    on_result = Any(None)

    def finish_displayhook(self):
        sys.stdout.flush()
        sys.stderr.flush()
        if self.on_result is not None:
            self.on_result()


class PyctxKernel:
    """What libraries reach for as get_ipython().kernel (no ZMQ, no comms)."""

    def __init__(self, shell):
        self.shell = shell
        self.session = None
        self.comm_manager = None

    def __repr__(self):
        return "<pyctx kernel (IPython shell inside a pyctx worker)>"


class PyctxZMQCompatibleShell(InteractiveShell):
    """The worker's InteractiveShell. "ZMQ" in the name is for pandas (see module doc)."""
    displayhook_class = Type(PyctxDisplayHook)
    display_pub_class = Type(PyctxDisplayPublisher)
    kernel = Any(None)
    on_error = Any(None)
    last_error = None

    def _showtraceback(self, etype, evalue, stb):
        # ipykernel sends this as the `error` output; we put it in the reply.
        if self.on_error is not None:
            self.on_error()
        self.last_error = {"ename": str(getattr(etype, "__name__", etype)),
                           "evalue": str(evalue), "traceback": list(stb)}

    def _get_exc_info(self, exc_tuple=None):
        # Without the worker's own frames (its SIGINT handler, the request loop),
        # so an interrupt's traceback ends in the user's line, as under ipykernel.
        etype, value, tb = super()._get_exc_info(exc_tuple)
        tb = execution._user_frames(tb)
        sys.last_traceback = tb
        return etype, value, tb

    def init_environment(self):
        """As ipykernel: no pager can work here; ls colours as in Jupyter."""
        env = os.environ
        env["TERM"] = "xterm-color"
        env["CLICOLOR"] = "1"
        env["PAGER"] = "cat"
        env["GIT_PAGER"] = "cat"

    def enable_gui(self, gui=None):
        if gui not in (None, "inline"):
            raise UsageError("pyctx shows figures inline only; `%%matplotlib %s` needs a GUI "
                             "event loop. Use `%%matplotlib inline`." % gui)
        self.active_eventloop = gui

    def init_virtualenv(self):
        pass  # the worker runs the interpreter it was given; no warning about venvs


def _config():
    cfg = Config()
    cfg.HistoryManager.enabled = False  # in memory: no sqlite file shared by many workers
    # What ipykernel's IPKernelApp leaves in the shell's config; tqdm and pandas test it.
    cfg.IPKernelApp.parent_appname = "pyctx-notebook"
    return cfg


class IPythonShell:
    mode = "ipython"

    def __init__(self, worker):
        self.worker = worker
        self._seen = {}  # Out number -> first listed (the Ref Explorer's "created")
        self.version = IPython.__version__
        if not os.environ.get("MPLBACKEND") and _importable("matplotlib_inline"):
            # as ipykernel's IPKernelApp.init_gui_pylab: inline figures by default
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        sh = PyctxZMQCompatibleShell.instance(config=_config(), user_module=worker.namespace.module)
        sh.kernel = PyctxKernel(sh)
        sh.display_pub.sink = worker.emit_event
        sh.displayhook.sink = worker.emit_event
        # Figures flushed after the result or error follow it (Jupyter's order).
        sh.displayhook.on_result = sh.on_error = worker.hold_displays
        # Coroutine cells run on the worker's persistent loop (asyncio.get_event_loop()
        # in a plain cell is the same loop), as ipykernel runs them on its own.
        sh.loop_runner = lambda coro: execution.event_loop().run_until_complete(coro)
        self.shell = sh
        display._sink = worker.emit_event  # pyctx_worker.display, for code that imports it
        import builtins
        from IPython.display import clear_output, update_display
        builtins.update_display = update_display
        builtins.clear_output = clear_output

    def run_cell(self, code, count, store):
        sh = self.shell
        hook = sh.displayhook
        if store:
            sh.execution_count = count
        hook.bundle = hook.value = None
        hook.keep = store
        sh.last_error = None
        try:
            res = execution.user_code(sh.run_cell, code, store)
        finally:
            bundle, value = hook.bundle, hook.value
            hook.bundle = hook.value = None
            hook.keep = True
        if res is None or res.success:
            return Outcome(value, bundle)
        err = res.error_before_exec or res.error_in_exec
        if isinstance(err, UsageError):  # as in Jupyter: stderr text only, cell failed
            return Outcome(value, bundle, failed=True)
        error = sh.last_error or {"ename": type(err).__name__, "evalue": str(err), "traceback": []}
        return Outcome(value, bundle, error=error)

    def prime(self):
        """IPython's first run_cell costs ~10 ms more than the next (its transformers,
        compiler and async checks on first use): paid here, while the warm worker waits.
        Silent and not stored: no count, no history, no displayhook, no events."""
        sh = self.shell
        sh.run_cell("1+1", store_history=False, silent=True)
        sh.display_formatter.format(2)

    def post_cell(self):
        # matplotlib_inline's flush_figures ran in post_execute, inside run_cell;
        # without matplotlib_inline, figures go out as in built-in mode.
        if "matplotlib_inline" not in os.environ.get("MPLBACKEND", ""):
            try:
                execution.user_code(display.flush_figures)
            except BaseException:
                pass

    # -- output history (Out, _N, _, __, ___), listed as its own group

    def _out(self):
        return self.shell.history_manager.output_hist

    def history(self, session):
        from ..codec import Prepacked
        from .. import sizing
        import time
        out, seen, now = [], self._seen, time.time()
        for n, value in list(self._out().items()):
            at = seen.setdefault(n, now)
            t = type(value)
            out.append(Prepacked(
                id="out:%d" % n, session_id=session, kind="history", name="Out[%d]" % n,
                type_name=t.__name__, python_module=t.__module__ or "builtins",
                size_bytes=sizing.deep_size(value), repr=sizing.short_repr(value),
                created_at=at, last_access=at, ttl_seconds=None, execution_count=n))
        return out

    def _drop(self, numbers):
        ns, out, dh = self.shell.user_ns, self._out(), self.shell.displayhook
        for n in numbers:
            value = out.pop(n, None)
            if value is None:
                continue
            if ns.get("_%d" % n) is value:
                ns.pop("_%d" % n, None)
            # _, __, ___ in the namespace and on the displayhook move together: the
            # hook stops updating them once they differ (it takes that for a user's own _).
            for name in ("_", "__", "___"):
                if getattr(dh, name, None) is value:
                    setattr(dh, name, "")
                    if ns.get(name) is value:
                        ns[name] = ""

    def release_history(self, key):
        try:
            n = int(key)
        except ValueError:
            return False
        if n not in self._out():
            return False
        self._drop([n])
        return True

    def release_history_of(self, obj):
        """Out entries holding obj are dropped with it; returns their names."""
        numbers = [n for n, v in self._out().items() if v is obj]
        self._drop(numbers)
        return ["Out[%d]" % n for n in numbers]

    def clear_history(self):
        numbers = list(self._out())
        self._drop(numbers)
        return len(numbers)

    def hidden(self, name, value):
        """In, Out, get_ipython, exit, quit: the shell's, not the user's variables."""
        hidden = self.shell.user_ns_hidden
        return name in hidden and hidden[name] is value


def _importable(name):
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
