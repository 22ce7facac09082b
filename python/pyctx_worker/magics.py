"""IPython-style magics, shell escapes and `?` help in cells, standard library only.

Notebooks written for Jupyter use `%matplotlib inline`, `!pip install x`,
`files = !ls`, `%time`, `%%writefile`, `%%bash`, `obj?`... transform() rewrites
those lines into calls on the `__pyctx_magics__` builtin before the cell is
compiled, line for line (tracebacks keep the cell's line numbers), and only where
a statement starts: a `%` or `!` inside brackets, strings or a continued line is
left to Python. The handlers below implement the magics notebooks use most, with
IPython's output formats; anything else is a UsageError naming it, as in IPython.
"""

import math
import os
import re
import sys
import time

# shlex and subprocess are imported where used: this module loads with every worker,
# and they would add ~4 ms to each worker's start.

NAME = "__pyctx_magics__"


class UsageError(Exception):
    """A magic used wrongly or unknown; the cell fails with just this line."""


# ---------------------------------------------------------------- transform

# Line patterns, as strings: re compiles each on first use and caches it, so a
# worker whose cells have no magics never pays for them.
_CELL = r"^%%(\w+)[ \t]*(.*)$"
_LINE = r"^([ \t]*)%(\w+)(.*)$"
_SHELL = r"^([ \t]*)!(.*)$"
_ASSIGN = r"^([ \t]*)([A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*)[ \t]*=[ \t]*([%!])(.*)$"
_HELP = r"^([ \t]*)(\?{0,2})([A-Za-z_][\w.]*)(\?{0,2})[ \t]*$"
# Automagic: `ls -l`, `cat f`, `pwd`, `cd dir` without the %, as IPython's prefilter
# does it: in a one-line cell only, not when the rest starts with '=' or ',' (an
# assignment), nor, at run time, when the name is a variable of the cell (auto()).
_AUTO_ANY = r"(?m)^[ \t]*(?:ls|cat|pwd|cd)\b"
_AUTO = r"^([ \t]*)(ls|cat|pwd|cd)(?:[ \t]+([^=,\s].*?))?[ \t]*$"


def _statement_starts(lines):
    """For each line: does a new statement start there (not inside brackets, a
    triple-quoted string or after a backslash continuation)?"""
    starts = []
    depth = 0
    quote = None  # the open triple quote
    continued = False
    for line in lines:
        starts.append(depth == 0 and quote is None and not continued)
        continued = False
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if quote:
                if c == "\\":
                    i += 2
                elif line.startswith(quote, i):
                    i += len(quote)
                    quote = None
                else:
                    i += 1
                continue
            if c == "#":
                break
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(0, depth - 1)
            elif c in "'\"":
                triple = line[i:i + 3]
                if triple in ('"""', "'''"):
                    quote = triple
                    i += 3
                    continue
                j = i + 1  # a one-line string: skip to its end
                while j < n and line[j] != c:
                    j += 2 if line[j] == "\\" else 1
                i = j + 1
                continue
            elif c == "\\" and i == n - 1:
                continued = True
            i += 1
    return starts


def transform(source):
    """The cell as plain Python: magic, shell and help lines become calls."""
    if "%" not in source and "!" not in source and "?" not in source and \
            not re.search(_AUTO_ANY, source):
        return source
    lines = source.split("\n")
    first = next((i for i, l in enumerate(lines) if l.strip()), None)
    if first is None:
        return source
    m = re.match(_CELL, lines[first])
    if m:
        body = "\n".join(lines[first + 1:])
        if not body.endswith("\n"):
            body += "\n"  # as IPython: the cell text a magic gets ends with a newline
        call = "%s.cell(%r, %r, %r, %d)" % (NAME, m.group(1), m.group(2).strip(), body, first + 2)
        return "\n" * first + call + "\n" * (len(lines) - first - 1)
    if first == len(lines) - 1 or not "".join(lines[first + 1:]).strip():  # one line
        m = re.match(_AUTO, lines[first])
        if m:
            lines[first] = "%s%s.auto(%r, %r, %r)" % (m.group(1), NAME, m.group(2), m.group(3) or "",
                                                     lines[first].strip())
            return "\n".join(lines)
    out = []
    for line, start in zip(lines, _statement_starts(lines)):
        out.append(_transform_line(line) if start else line)
    return "\n".join(out)


def _transform_line(line):
    m = re.match(_SHELL, line)
    if m:
        return "%s%s.system(%r)" % (m.group(1), NAME, m.group(2))
    m = re.match(_LINE, line)
    if m:
        return "%s%s.line(%r, %r)" % (m.group(1), NAME, m.group(2), m.group(3).strip())
    m = re.match(_ASSIGN, line)
    if m:
        indent, target, kind, rest = m.groups()
        if kind == "!":
            return "%s%s = %s.getoutput(%r)" % (indent, target, NAME, rest)
        name, _, args = rest.partition(" ")
        if re.match(r"^\w+$", name):
            return "%s%s = %s.line(%r, %r)" % (indent, target, NAME, name, args.strip())
        return line
    if line.rstrip().endswith("?") or line.lstrip().startswith("?"):
        m = re.match(_HELP, line)
        if m and (m.group(2) or m.group(4)):
            detail = max(len(m.group(2)), len(m.group(4)))
            return "%s%s.help(%r, %d)" % (m.group(1), NAME, m.group(3), detail)
    return line


# ---------------------------------------------------------------- formats (IPython's)

def format_time(seconds, precision=3):
    if seconds >= 60.0:
        parts, left = [], seconds
        for suffix, length in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
            value = int(left / length)
            if value > 0:
                left = left % length
                parts.append("%d%s" % (value, suffix))
            if left < 1:
                break
        return " ".join(parts)
    units = ["s", "ms", "\xb5s", "ns"]
    order = min(-int(math.floor(math.log10(seconds)) // 3), 3) if seconds > 0.0 else 3
    return "%.*g %s" % (precision, seconds * (1, 1e3, 1e6, 1e9)[order], units[order])


class SList(list):
    """Output lines of `x = !cmd`, with IPython's .s / .n / .l views."""

    @property
    def s(self):
        return " ".join(self)

    @property
    def n(self):
        return "\n".join(self)

    @property
    def l(self):  # noqa: E743 (IPython's name)
        return list(self)


class RichOutput:
    """One display captured by %%capture; display() or show() sends it again."""

    def __init__(self, data, metadata):
        self.data, self.metadata = data, metadata

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.data, self.metadata

    def show(self):
        from . import display
        display.display(self.data, metadata=self.metadata, raw=True)


class CapturedIO:
    """What `%%capture out` stores (IPython's names): .stdout, .stderr, .outputs,
    and show() / out() to send it all to the cell."""

    def __init__(self):
        self._stdout = ""
        self._stderr = ""
        self.outputs = []

    @property
    def stdout(self):
        return self._stdout

    @property
    def stderr(self):
        return self._stderr

    def show(self):
        if self._stdout:
            sys.stdout.write(self._stdout)
            sys.stdout.flush()
        if self._stderr:
            sys.stderr.write(self._stderr)
            sys.stderr.flush()
        for o in self.outputs:
            o.show()

    __call__ = show

    def __repr__(self):
        return "<CapturedIO: %d chars of stdout, %d of stderr, %d outputs>" % (
            len(self._stdout), len(self._stderr), len(self.outputs))


class TimeitResult:
    """What `%timeit -o` returns (IPython's attribute names)."""

    def __init__(self, loops, repeat, all_runs):
        self.loops, self.repeat, self.all_runs = loops, repeat, all_runs
        self.timings = [t / loops for t in all_runs]
        self.best = min(self.timings)
        self.worst = max(self.timings)
        self.average = sum(self.timings) / len(self.timings)
        self.stdev = math.sqrt(sum((t - self.average) ** 2 for t in self.timings) / len(self.timings))

    def __repr__(self):
        return "%s \xb1 %s per loop (mean \xb1 std. dev. of %d run%s, %s loop%s each)" % (
            format_time(self.average), format_time(self.stdev), self.repeat,
            "" if self.repeat == 1 else "s", "{:,}".format(self.loops), "" if self.loops == 1 else "s")


# ---------------------------------------------------------------- handlers

def _caller_ns():
    """The namespace of the cell (the code that called the entry point)."""
    return sys._getframe(2).f_globals


def _expansion_ns():
    """Names a shell command may expand: the cell's, and the locals of a function
    the command is in."""
    frame = sys._getframe(2)
    if frame.f_locals is frame.f_globals:
        return frame.f_globals
    ns = dict(frame.f_globals)
    ns.update(frame.f_locals)
    return ns


def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except Exception:
            pass


def _expand(cmd, ns):
    """IPython's variable expansion in shell commands: {expr} and $name from the
    namespace ({{, }} and $$ for literal braces and dollars)."""
    def brace(m):
        try:
            return str(eval(m.group(1), ns))
        except Exception:
            return m.group(0)
    cmd = re.sub(r"(?<!\{)\{([^{}]+)\}(?!\})", brace, cmd)
    cmd = re.sub(r"(?<!\$)\$([A-Za-z_]\w*)", lambda m: str(ns[m.group(1)]) if m.group(1) in ns else m.group(0), cmd)
    return cmd.replace("{{", "{").replace("}}", "}").replace("$$", "$")


def _run_child(args, shell=False, stdin_text=None):
    """Run a child process with the cell's stdout/stderr; Ctrl-C reaches it too.
    Returns its exit status."""
    import subprocess
    _flush()
    proc = subprocess.Popen(args, shell=shell, stdin=subprocess.PIPE if stdin_text is not None else None)
    try:
        if stdin_text is not None:
            proc.communicate(stdin_text.encode("utf-8"))
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(2)
        try:
            proc.wait(1)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


class Magics:
    """The `__pyctx_magics__` builtin the transformed cells call."""

    def __init__(self, divert_output=None):
        self.autoreload = None  # module name -> mtime seen, while %autoreload is on
        self.divert_output = divert_output  # the worker's: context(on_stream, on_display)

    # -- entry points (called from cell code)

    def system(self, cmd):
        status = _run_child(_expand(cmd, _expansion_ns()), shell=True)
        _caller_ns()["_exit_code"] = status

    def getoutput(self, cmd):
        import subprocess
        command = _expand(cmd, _expansion_ns())
        _flush()
        r = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _caller_ns()["_exit_code"] = r.returncode
        return SList(r.stdout.decode("utf-8", "replace").splitlines())

    def line(self, name, args):
        fn = getattr(self, "line_" + name, None)
        if fn is None:
            raise UsageError("Line magic function `%%%s` not found." % name)
        return fn(args, _caller_ns())

    def auto(self, name, args, line):
        """An automagic line: the magic, unless the cell's namespace defines the name."""
        frame = sys._getframe(1)
        if name in frame.f_globals or name in frame.f_locals or hasattr(__import__("builtins"), name):
            code = compile(line, "<automagic>", "eval")  # it is Python after all
            return eval(code, frame.f_globals, frame.f_locals)
        return getattr(self, "line_" + name)(args, frame.f_globals)

    def cell(self, name, args, body, body_line):
        caller = sys._getframe(1)
        fn = getattr(self, "cell_" + name, None)
        if fn is None:
            if getattr(self, "line_" + name, None) is not None:
                raise UsageError("Cell magic `%%%%%s` not found (but line magic `%%%s` exists, "
                                 "did you mean that instead?)." % (name, name))
            raise UsageError("Cell magic `%%%%%s` not found." % name)
        return fn(args, body, caller.f_globals, (caller.f_code.co_filename, body_line))

    def help(self, name, detail):
        ns = _caller_ns()
        try:
            obj = eval(name, ns)
        except Exception:
            print("Object `%s` not found." % name)
            return
        import inspect
        rows = []
        try:
            rows.append(("Signature", "%s%s" % (name.rsplit(".", 1)[-1], inspect.signature(obj))))
        except (TypeError, ValueError):
            pass
        rows.append(("Type", type(obj).__name__))
        if not callable(obj) or not inspect.isroutine(obj):
            text = repr(obj)
            rows.append(("String form", text if len(text) < 200 else text[:197] + "..."))
        try:
            rows.append(("File", inspect.getsourcefile(obj) or inspect.getfile(obj)))
        except TypeError:
            pass
        source = None
        if detail > 1:
            try:
                source = inspect.getsource(obj)
            except (OSError, TypeError):
                source = None
        if source:
            rows.append(("Source", "\n" + source.rstrip("\n")))
        else:
            rows.append(("Docstring", inspect.getdoc(obj) or "<no docstring>"))
        print("\n".join("%-10s %s" % (k + ":", v) for k, v in rows))

    # -- line magics

    def line_lsmagic(self, args, ns):
        lines = sorted("%" + n[5:] for n in dir(self) if n.startswith("line_"))
        cells = sorted("%%" + n[5:] for n in dir(self) if n.startswith("cell_"))
        print("Available line magics:\n%s\n\nAvailable cell magics:\n%s" % ("  ".join(lines), "  ".join(cells)))

    def line_matplotlib(self, args, ns):
        if args.strip() not in ("", "inline", "agg"):
            raise UsageError("pyctx shows figures inline only (`%%matplotlib %s` needs a GUI event loop)." % args.strip())

    def line_pwd(self, args, ns):
        return os.getcwd()

    def line_cd(self, args, ns):
        target = os.path.expanduser(_unquote(args.strip()) or "~")
        try:
            os.chdir(target)
        except OSError as e:
            raise UsageError("cd: %s" % e.strerror)
        print(os.getcwd())

    def line_env(self, args, ns):
        args = args.strip()
        if not args:
            return dict(os.environ)
        if "=" in args or " " in args:
            key, _, value = args.partition("=") if "=" in args else args.partition(" ")
            key, value = key.strip(), _expand(value.strip(), ns)
            os.environ[key] = value
            print("env: %s=%s" % (key, value))
            return None
        if args not in os.environ:
            raise UsageError("Environment does not have key: %s" % args)
        return os.environ[args]

    def line_pip(self, args, ns):
        import shlex
        _run_child([sys.executable, "-m", "pip"] + shlex.split(_expand(args, ns)))
        print("Note: you may need to restart the kernel to use updated packages.")

    def line_time(self, args, ns):
        return self._time(args, ns, "<timed exec>", 1)

    def line_timeit(self, args, ns):
        return self._timeit(args, None, ns)

    def line_who(self, args, ns):
        names = sorted(k for k, v in ns.items() if not k.startswith("_") and not _is_module(v)
                       and k not in ("In", "Out", "exit", "quit", "get_ipython"))
        print("\t".join(names) if names else "Interactive namespace is empty.")

    def line_run(self, args, ns):
        import shlex
        import runpy
        argv = shlex.split(_expand(args, ns))
        in_ns = "-i" in argv[:1]
        if in_ns:
            argv = argv[1:]
        if not argv:
            raise UsageError("%run needs a file name")
        path = argv[0]
        if not os.path.exists(path) and os.path.exists(path + ".py"):
            path += ".py"
        saved = sys.argv
        sys.argv = [path] + argv[1:]
        try:
            if in_ns:
                with open(path, "rb") as f:
                    code = compile(f.read(), path, "exec")
                exec(code, ns)
            else:
                result = runpy.run_path(path, run_name="__main__")
                ns.update({k: v for k, v in result.items() if not (k.startswith("__") and k.endswith("__"))})
        finally:
            sys.argv = saved

    def line_load_ext(self, args, ns):
        if args.strip() != "autoreload":
            raise UsageError("pyctx runs no IPython extensions (`%%load_ext %s`); only autoreload is built in." % args.strip())

    line_reload_ext = line_load_ext

    def line_ls(self, args, ns):
        self.system("ls -F --color " + args if args else "ls -F --color")

    def line_cat(self, args, ns):
        self.system("cat " + args)

    def line_xmode(self, args, ns):
        from . import execution
        mode = args.strip().capitalize()
        if not mode:  # as IPython: cycle
            modes = execution.XMODES
            mode = modes[(modes.index(execution.xmode) + 1) % len(modes)]
        if mode not in execution.XMODES:
            raise UsageError("Valid modes: %s" % ", ".join(execution.XMODES))
        execution.xmode = mode
        print("Exception reporting mode: %s" % mode)

    def line_config(self, args, ns):
        """%config InlineBackend.figure_format(s) = ...: the formats figures are shown in.
        Other InlineBackend settings and other classes are accepted and ignored."""
        from . import display
        text = args.strip()
        if not text:
            print("Available objects for config:\n    InlineBackend")
            return
        m = re.match(r"^InlineBackend\.(\w+)\s*=\s*(.+)$", text, re.S)
        if m is None:
            if text == "InlineBackend":
                print("InlineBackend.figure_formats=%r" % sorted(display.figure_formats))
            return
        name, value = m.group(1), eval(m.group(2), ns)
        if name in ("figure_format", "figure_formats"):
            formats = {value} if isinstance(value, str) else set(value)
            bad = formats - set(display.FIGURE_FORMATS)
            if bad:
                raise UsageError("figure format %s is not one of %s"
                                 % (", ".join(sorted(bad)), ", ".join(display.FIGURE_FORMATS)))
            display.figure_formats = formats

    def line_prun(self, args, ns):
        return self._prun(args, ns)

    def line_autoreload(self, args, ns):
        mode = args.strip() or "1"
        if mode not in ("0", "1", "2", "off", "all"):
            raise UsageError("%%autoreload takes 0, 1 or 2, got %r" % mode)
        self.autoreload = None if mode in ("0", "off") else _module_mtimes()

    # -- cell magics

    def cell_time(self, args, body, ns, origin):
        return self._time(body, ns, *origin)

    def cell_timeit(self, args, body, ns, origin):
        return self._timeit(args, body, ns)

    def cell_bash(self, args, body, ns, origin):
        self._script(["bash"], body)

    def cell_sh(self, args, body, ns, origin):
        self._script(["sh"], body)

    def cell_script(self, args, body, ns, origin):
        import shlex
        argv = shlex.split(args)
        if not argv:
            raise UsageError("%%script needs a program, e.g. %%script python3")
        self._script(argv, body)

    def cell_prun(self, args, body, ns, origin):
        return self._prun(body, ns)

    def cell_file(self, args, body, ns, origin):
        return self.cell_writefile(args, body, ns, origin)

    def cell_writefile(self, args, body, ns, origin):
        import shlex
        argv = shlex.split(args)
        append = bool(argv) and argv[0] in ("-a", "--append")
        if append:
            argv = argv[1:]
        if len(argv) != 1:
            raise UsageError("%%writefile [-a] FILENAME")
        path = os.path.expanduser(argv[0])
        if os.path.exists(path):
            print(("Appending to %s" if append else "Overwriting %s") % path)
        else:
            print("Writing %s" % path)
        with open(path, "a" if append else "w", encoding="utf-8") as f:
            f.write(body)

    def cell_capture(self, args, body, ns, origin):
        import shlex
        argv = shlex.split(args)
        flags = {a for a in argv if a.startswith("--")}
        names = [a for a in argv if not a.startswith("--")]
        unknown = flags - {"--no-stdout", "--no-stderr", "--no-display"}
        if unknown or len(names) > 1:
            raise UsageError("%%capture [--no-stdout] [--no-stderr] [--no-display] [output]")
        if self.divert_output is None:
            raise UsageError("%%capture needs the pyctx worker")
        captured = CapturedIO()

        def on_stream(name, text):
            if ("--no-" + name) in flags:
                return False
            setattr(captured, "_" + name, getattr(captured, "_" + name) + text)
            return True

        def on_display(event):
            if "--no-display" in flags:
                return False
            captured.outputs.append(RichOutput(event.get("data") or {}, event.get("metadata") or {}))
            return True

        with self.divert_output(on_stream, on_display):
            value = self._exec_body(body, ns, *origin)
            if value is not None:  # the cell's result is an output too, as in IPython
                from . import display
                display.display(value)
        if names:
            ns[names[0]] = captured

    def cell_html(self, args, body, ns, origin):
        self._display("text/html", body, "<IPython.core.display.HTML object>")

    def cell_markdown(self, args, body, ns, origin):
        self._display("text/markdown", body, "<IPython.core.display.Markdown object>")

    def cell_svg(self, args, body, ns, origin):
        self._display("image/svg+xml", body, "<IPython.core.display.SVG object>")

    def cell_latex(self, args, body, ns, origin):
        self._display("text/latex", body, "<IPython.core.display.Latex object>")

    # -- helpers

    @staticmethod
    def _compile_body(code, filename, first_line):
        """(statements, last expression or None) of a cell magic's body, compiled with
        the cell's file name and line numbers."""
        import ast
        tree = compile(transform(code), filename, "exec", ast.PyCF_ONLY_AST)
        ast.increment_lineno(tree, first_line - 1)
        expr = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
            expr = ast.Expression(tree.body.pop().value)
        return compile(tree, filename, "exec"), (compile(expr, filename, "eval") if expr is not None else None)

    def _exec_body(self, code, ns, filename, first_line):
        body, last = self._compile_body(code, filename, first_line)
        exec(body, ns)
        return eval(last, ns) if last is not None else None

    def _time(self, code, ns, filename, first_line):
        body, last = self._compile_body(code, filename, first_line)
        t0, w0 = _cpu_times(), time.perf_counter()
        try:
            exec(body, ns)
            value = eval(last, ns) if last is not None else None
        finally:
            wall, t1 = time.perf_counter() - w0, _cpu_times()
            user, system = t1[0] - t0[0], t1[1] - t0[1]
            print("CPU times: user %s, sys: %s, total: %s" % (format_time(user), format_time(system), format_time(user + system)))
            print("Wall time: %s" % format_time(wall))
        return value

    def _timeit(self, args, body, ns):
        import timeit
        m = re.match(r"^\s*((?:-[nr]\s*\d+\s*|-[qo](?:\s+|$))*)(.*)$", args, re.S)
        opts, text = m.group(1), m.group(2).strip()
        number = repeat = None
        for flag, value in re.findall(r"-([nrqo])\s*(\d*)", opts):
            if flag == "n":
                number = int(value)
            elif flag == "r":
                repeat = int(value)
        quiet, ret = "-q" in opts, "-o" in opts
        stmt, setup = (body, text or "pass") if body is not None else (text, "pass")
        if not stmt.strip():
            raise UsageError("%timeit needs a statement")
        timer = timeit.Timer(stmt, setup, globals=ns)
        repeat = repeat or 7
        if number is None:
            number = 1
            for index in range(10):
                number = 10 ** index
                if timer.timeit(number) >= 0.2:
                    break
        result = TimeitResult(number, repeat, timer.repeat(repeat, number))
        if not quiet:
            print(repr(result))
        return result if ret else None

    def _prun(self, code, ns):
        """cProfile the statement; the report sorted by internal time, as IPython's."""
        import cProfile
        import io
        import pstats
        prof = cProfile.Profile()
        try:
            prof.runctx(code, ns, ns)
        finally:
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("time")
            stats.print_stats()
            print(out.getvalue().rstrip())

    def _script(self, argv, body):
        import subprocess
        status = _run_child(argv, stdin_text=body)
        if status != 0:  # as IPython 8: the cell fails (the command shown is the cell)
            raise subprocess.CalledProcessError(status, body.encode("utf-8"))

    def _display(self, mime, body, plain):
        from . import display
        display.display({mime: body, "text/plain": plain}, raw=True)

    def note_new_modules(self):
        """After a cell: remember the files of modules it imported, the baseline
        the next cell's reload_changed() compares with."""
        if self.autoreload is not None:
            for name, mtime in _module_mtimes().items():
                self.autoreload.setdefault(name, mtime)

    def reload_changed(self):
        """%autoreload: reload the user modules whose file changed since last seen."""
        if self.autoreload is None:
            return
        import importlib
        seen = self.autoreload
        for name, mtime in _module_mtimes().items():
            old = seen.get(name)
            if old is not None and mtime != old:
                module = sys.modules.get(name)
                if module is not None:
                    try:
                        importlib.reload(module)
                    except Exception as e:  # as IPython: report and go on with the cell
                        print("[autoreload of %s failed: %s: %s]" % (name, type(e).__name__, e), file=sys.stderr)
            seen[name] = mtime


def _cpu_times():
    """(user, system) CPU seconds of this process, at getrusage's microsecond resolution."""
    try:
        import resource
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime, r.ru_stime
    except ImportError:
        t = os.times()
        return t.user, t.system


def _unquote(s):
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" else s


def _is_module(v):
    return type(v).__name__ == "module"


def _module_mtimes():
    """mtime of every loaded module file that is not part of the interpreter's own
    installation (stdlib, site-packages) nor of the worker: the user's modules."""
    out = {}
    lib_prefixes = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    here = os.path.dirname(os.path.abspath(__file__))
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            continue
        real = os.path.realpath(path)
        if real.startswith(lib_prefixes) or real.startswith(here) or "site-packages" in real or "dist-packages" in real:
            continue
        try:
            out[name] = os.stat(real).st_mtime_ns
        except OSError:
            pass
    return out
