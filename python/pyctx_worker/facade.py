"""get_ipython() in built-in mode: a small stand-in for IPython's shell.

Libraries call get_ipython() to learn whether they run under a notebook front end
and to hook into it. This object answers the calls they make most: user_ns,
run_line_magic / run_cell_magic (our magics.py), events.register / unregister
(pre/post_execute, pre/post_run_cell, fired around each cell), a `config` in which
'IPKernelApp' is present (pandas, tqdm: "a notebook front end"), display_pub-free
display through display.py. Its class name contains "zmq" because that is what
pandas' in_ipython_frontend() tests (str(type(get_ipython()))), as ipykernel's
ZMQInteractiveShell satisfies it. Anything else is an AttributeError, as usual.
"""

_instance = None

EVENTS = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell", "shell_initialized")


class Events:
    def __init__(self):
        self.callbacks = {name: [] for name in EVENTS}

    def register(self, event, function):
        if event not in self.callbacks:
            raise KeyError("Unknown event type %r" % event)
        if not callable(function):
            raise TypeError("Need a callable, got %r" % function)
        if function not in self.callbacks[event]:
            self.callbacks[event].append(function)

    def unregister(self, event, function):
        try:
            self.callbacks[event].remove(function)
        except (KeyError, ValueError):
            raise ValueError("Function %r is not registered as a %s callback" % (function, event))

    def trigger(self, event, *args, **kwargs):
        import sys
        for fn in list(self.callbacks.get(event, ())):
            try:
                fn(*args, **kwargs)
            except Exception as e:  # as IPython: report, never break the cell
                print("Error in callback %r (for %s):" % (fn, event), file=sys.stderr)
                print("%s: %s" % (type(e).__name__, e), file=sys.stderr)


class _Section(dict):
    """A config section: attribute or item access, missing sections spring up empty."""

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self:
            self[name] = _Section()
        return self[name]

    def __setattr__(self, name, value):
        self[name] = value


class PyctxZMQCompatibleShell:
    """The built-in layer's get_ipython()."""

    def __init__(self, shell):
        self._shell = shell
        self.events = Events()
        self.config = _Section()
        self.config.IPKernelApp.parent_appname = "pyctx-notebook"
        self.kernel = None
        self.magics_manager = None

    @property
    def user_ns(self):
        return self._shell.worker.ns

    @property
    def execution_count(self):
        return self._shell.worker.execution_count + 1

    def run_line_magic(self, magic_name, line, _stack_depth=1):
        fn = getattr(self._shell.magics, "line_" + magic_name, None)
        if fn is None:
            from .magics import UsageError
            raise UsageError("Line magic function `%%%s` not found." % magic_name)
        return fn(line, self.user_ns)

    def run_cell_magic(self, magic_name, line, cell):
        fn = getattr(self._shell.magics, "cell_" + magic_name, None)
        if fn is None:
            from .magics import UsageError
            raise UsageError("Cell magic `%%%%%s` not found." % magic_name)
        return fn(line, cell, self.user_ns, ("<cell magic>", 1))

    def magic(self, arg_s):
        name, _, line = arg_s.lstrip("%").partition(" ")
        return self.run_line_magic(name, line)

    def system(self, cmd):
        return self._shell.magics.system(cmd)

    def getoutput(self, cmd):
        return self._shell.magics.getoutput(cmd)

    def push(self, variables, interactive=True):
        if isinstance(variables, str):
            import sys
            frame = sys._getframe(1)
            variables = {n: eval(n, frame.f_globals, frame.f_locals) for n in variables.split()}
        self.user_ns.update(variables)

    def ev(self, expr):
        return eval(expr, self.user_ns)

    def ex(self, cmd):
        exec(cmd, self.user_ns)

    def __repr__(self):
        return "<pyctx built-in shell (get_ipython() without IPython)>"


def get(shell):
    global _instance
    if _instance is None or _instance._shell is not shell:
        _instance = PyctxZMQCompatibleShell(shell)
    return _instance


def current():
    """The facade when one was created (events to fire), else None."""
    return _instance
