"""Built-in mode: cells run by the standard-library layer (no IPython installed,
or `ipython: off`). Compiling and magics live in execution.py / magics.py, rich
output in display.py and pretty.py; this file only strings them together behind
the shell interface (see shell/__init__.py)."""

import builtins
import sys

from .. import display, execution, magics
from . import Outcome, set_last_error


class BuiltinShell:
    mode = "builtin"
    version = None

    def __init__(self, worker):
        self.worker = worker
        display._sink = worker.emit_event
        builtins.display = display.display
        builtins.update_display = display.update_display
        builtins.clear_output = display.clear_output
        self.magics = magics.Magics(worker.divert_output)
        setattr(builtins, magics.NAME, self.magics)
        builtins.get_ipython = self.get_ipython

    def get_ipython(self):
        from .. import facade
        return facade.get(self)

    def run_cell(self, code, count, store):
        from .. import facade
        events = facade.current()
        if events is not None:
            events.events.trigger("pre_execute")
            events.events.trigger("pre_run_cell")
        try:
            value, bundle = execution.user_code(self._run, code, count if store else 0)
        except magics.UsageError as e:  # as IPython: one line on stderr, the cell failed
            execution.state.running = False
            sys.stderr.write("UsageError: %s\n" % e)
            sys.stderr.flush()
            return Outcome(failed=True)
        except BaseException as e:
            execution.state.running = False
            set_last_error(e)
            return Outcome(error=execution.error_content(e))
        return Outcome(value, bundle)

    def prime(self):
        """The first cell's one-time costs, paid while the warm worker waits: the
        compile path's modules (ast, tokenize, linecache: ~17 ms), a first compile,
        the result formatter. Runs no code in the user's namespace."""
        import linecache
        from .. import facade  # noqa: F401 (run_cell's first use)
        compiled, _ = execution.compile_cell("1+1", 0)
        linecache.cache.pop(compiled.co_filename, None)
        display.format_bundle(2)

    def _run(self, code, count):
        m = self.magics
        if m.autoreload is not None:
            m.reload_changed()
        compiled, has_result = execution.compile_cell(code, count)
        ns = self.worker.ns
        try:
            execution.run_code(compiled, ns)
            value = ns.get(execution.RESULT_NAME) if has_result else None
        finally:
            ns.pop(execution.RESULT_NAME, None)
            m.note_new_modules()
        if value is None:
            return None, None
        return value, display.format_bundle(value)

    def post_cell(self):
        """After the result: figures left open are shown (Jupyter: after the result),
        then the callbacks libraries registered through get_ipython().events."""
        try:
            execution.user_code(display.flush_figures)
        except BaseException:
            pass
        from .. import facade
        f = facade.current()
        if f is not None:
            try:
                execution.user_code(f.events.trigger, "post_execute")
                execution.user_code(f.events.trigger, "post_run_cell")
            except BaseException:
                pass

    # Output history: the built-in layer keeps results as registry refs (res:N).
    def history(self, session):
        return []

    def release_history(self, key):
        return False

    def release_history_of(self, obj):
        return []

    def clear_history(self):
        return 0

    def hidden(self, name, value):
        return False
