"""Jupyter's text/plain: a standard-library port of IPython.lib.pretty.

Results and display() show the same text as in Jupyter: containers wrap one item
per line when they do not fit in 79 columns, functions show their signature
(`<function len(obj, /)>`), classes their dotted name (`__main__.Plain`), default
reprs `<__main__.Plain at 0x...>`; objects with their own __repr__ keep it, and
_repr_pretty_(p, cycle) methods get a printer with IPython's API (text,
breakable, break_, begin_group/end_group, group, indent, pretty).

The dispatch order and the layout algorithm (a Wadler-style printer that keeps
pending text in a buffer and breaks the outermost groups first) follow
IPython.lib.pretty (BSD-3-Clause, IPython Development Team) so output matches
character for character; tests compare against the real IPython when installed.
Containers show at most MAX_SEQ_LENGTH items (then "..."), as IPython does, and
one output at most MAX_TOTAL_ITEMS items in all (our bound for nested containers).
"""

import io
import os
import types
from collections import deque

MAX_SEQ_LENGTH = 1000
# Items printed in one output across all containers. IPython has no such limit, so
# nested containers cost up to 1000**depth item reprs there (a 1000x1000 list of
# lists: ~1M lines, seconds); past this budget every container ends in "...".
# Below it (any output shorter than 50k items) the text is identical to IPython's.
MAX_TOTAL_ITEMS = 50000
MAX_WIDTH = 79
_BUILTIN_MODULES = (None, "__builtin__", "builtins", "exceptions")


def _safe_getattr(obj, attr, default=None):
    try:
        return getattr(obj, attr, default)
    except Exception:
        return default


def pretty(obj, max_width=MAX_WIDTH, max_seq_length=MAX_SEQ_LENGTH):
    """The text IPython's PlainTextFormatter shows for obj."""
    out = io.StringIO()
    p = RepresentationPrinter(out, max_width, max_seq_length)
    p.pretty(obj)
    p.flush()
    return out.getvalue()


# ---------------------------------------------------------------- layout

class _Text:
    __slots__ = ("objs", "width")

    def __init__(self):
        self.objs = []
        self.width = 0

    def output(self, stream, output_width):
        for obj in self.objs:
            stream.write(obj)
        return output_width + self.width

    def add(self, obj, width):
        self.objs.append(obj)
        self.width += width


class _Breakable:
    __slots__ = ("obj", "width", "pretty", "indentation", "group")

    def __init__(self, sep, width, pretty):
        self.obj = sep
        self.width = width
        self.pretty = pretty
        self.indentation = pretty.indentation
        self.group = pretty.group_stack[-1]
        self.group.breakables.append(self)

    def output(self, stream, output_width):
        self.group.breakables.popleft()
        if self.group.want_break:
            stream.write("\n")
            stream.write(" " * self.indentation)
            return self.indentation
        if not self.group.breakables:
            self.pretty.group_queue.remove(self.group)
        stream.write(self.obj)
        return output_width + self.width


class _Group:
    __slots__ = ("depth", "breakables", "want_break")

    def __init__(self, depth):
        self.depth = depth
        self.breakables = deque()
        self.want_break = False

    def output(self, stream, output_width):
        return output_width


class _GroupQueue:
    """Open groups by depth: the shallowest group with breakables breaks first."""

    def __init__(self, group):
        self.queue = []
        self.enq(group)

    def enq(self, group):
        while group.depth > len(self.queue) - 1:
            self.queue.append([])
        self.queue[group.depth].append(group)

    def deq(self):
        for stack in self.queue:
            for idx, group in enumerate(reversed(stack)):
                if group.breakables:
                    del stack[idx]
                    group.want_break = True
                    return group
            for group in stack:
                group.want_break = True
            del stack[:]
        return None

    def remove(self, group):
        try:
            self.queue[group.depth].remove(group)
        except ValueError:
            pass


class _Ctx:
    """`with p.group(...)` / `with p.indent(n)` without contextlib (start time)."""

    def __init__(self, enter, exit_):
        self.enter, self.exit = enter, exit_

    def __enter__(self):
        self.enter()

    def __exit__(self, *exc):
        self.exit()
        return False


class RepresentationPrinter:
    """IPython's printer API, as passed to _repr_pretty_(p, cycle)."""

    verbose = False
    newline = "\n"

    def __init__(self, output, max_width=MAX_WIDTH, max_seq_length=MAX_SEQ_LENGTH):
        self.output = output
        self.max_width = max_width
        self.max_seq_length = max_seq_length
        self.output_width = 0
        self.buffer_width = 0
        self.buffer = deque()
        root = _Group(0)
        self.group_stack = [root]
        self.group_queue = _GroupQueue(root)
        self.indentation = 0
        self.stack = []  # ids of the objects being printed: cycle detection
        self.items_left = MAX_TOTAL_ITEMS

    # -- layout primitives

    def _break_one_group(self, group):
        while group.breakables:
            x = self.buffer.popleft()
            self.output_width = x.output(self.output, self.output_width)
            self.buffer_width -= x.width
        while self.buffer and isinstance(self.buffer[0], _Text):
            x = self.buffer.popleft()
            self.output_width = x.output(self.output, self.output_width)
            self.buffer_width -= x.width

    def _break_outer_groups(self):
        while self.max_width < self.output_width + self.buffer_width:
            group = self.group_queue.deq()
            if not group:
                return
            self._break_one_group(group)

    def text(self, obj):
        """Literal text."""
        width = len(obj)
        if self.buffer:
            text = self.buffer[-1]
            if not isinstance(text, _Text):
                text = _Text()
                self.buffer.append(text)
            text.add(obj, width)
            self.buffer_width += width
            self._break_outer_groups()
        else:
            self.output.write(obj)
            self.output_width += width

    def breakable(self, sep=" "):
        """A place to break the line (else `sep`) if the group does not fit."""
        width = len(sep)
        group = self.group_stack[-1]
        if group.want_break:
            self.flush()
            self.output.write("\n" + " " * self.indentation)
            self.output_width = self.indentation
            self.buffer_width = 0
        else:
            self.buffer.append(_Breakable(sep, width, self))
            self.buffer_width += width
            self._break_outer_groups()

    def break_(self):
        """An unconditional newline at the current indentation."""
        group = self.group_queue.deq()
        if group:
            self._break_one_group(group)
        self.flush()
        self.output.write("\n" + " " * self.indentation)
        self.output_width = self.indentation
        self.buffer_width = 0

    def begin_group(self, indent=0, open=""):
        if open:
            self.text(open)
        group = _Group(self.group_stack[-1].depth + 1)
        self.group_stack.append(group)
        self.group_queue.enq(group)
        self.indentation += indent

    def end_group(self, dedent=0, close=""):
        self.indentation -= dedent
        group = self.group_stack.pop()
        if not group.breakables:
            self.group_queue.remove(group)
        if close:
            self.text(close)

    def group(self, indent=0, open="", close=""):
        return _Ctx(lambda: self.begin_group(indent, open),
                    lambda: self.end_group(indent, close))

    def indent(self, indent):
        def enter():
            self.indentation += indent

        def leave():
            self.indentation -= indent
        return _Ctx(enter, leave)

    def flush(self):
        for data in self.buffer:
            self.output_width += data.output(self.output, self.output_width)
        self.buffer.clear()
        self.buffer_width = 0

    def _enumerate(self, seq):
        """enumerate() that stops after max_seq_length items (or when the whole
        output's item budget is spent) with ', ...'."""
        for idx, x in enumerate(seq):
            if (self.max_seq_length and idx >= self.max_seq_length) or self.items_left <= 0:
                if idx:
                    self.text(",")
                    self.breakable()
                self.text("...")
                return
            self.items_left -= 1
            yield idx, x

    # -- dispatch

    def pretty(self, obj):
        """Print obj: singleton, registered type, _repr_pretty_, __repr__, default."""
        obj_id = id(obj)
        cycle = obj_id in self.stack
        self.stack.append(obj_id)
        self.begin_group()
        try:
            if obj is None or obj is True or obj is False or obj is Ellipsis \
                    or obj is NotImplemented:
                return _repr_pprint(obj, self, cycle)
            obj_class = _safe_getattr(obj, "__class__", None) or type(obj)
            mro = _safe_getattr(obj_class, "__mro__", None) or (obj_class,)
            for cls in mro:
                printer = _printer_for(cls)
                if printer is not None:
                    return printer(obj, self, cycle)
                d = _safe_getattr(cls, "__dict__", None) or {}
                if "_repr_pretty_" in d:
                    meth = cls._repr_pretty_
                    if callable(meth):
                        return meth(obj, self, cycle)
                if cls is not object and callable(d.get("__repr__")):
                    return _repr_pprint(obj, self, cycle)
            return _default_pprint(obj, self, cycle)
        finally:
            self.end_group()
            self.stack.pop()


# ---------------------------------------------------------------- printers

def _repr_pprint(obj, p, cycle):
    """repr(), with its newlines as real breaks."""
    lines = repr(obj).splitlines()
    p.begin_group()
    for idx, line in enumerate(lines):
        if idx:
            p.break_()
        p.text(line)
    p.end_group()


def _default_pprint(obj, p, cycle):
    klass = _safe_getattr(obj, "__class__", None) or type(obj)
    if _safe_getattr(klass, "__repr__", None) is not object.__repr__:
        _repr_pprint(obj, p, cycle)
        return
    p.begin_group(1, "<")
    p.pretty(klass)
    p.text(" at 0x%x" % id(obj))
    if cycle:
        p.text(" ...")
    p.end_group(1, ">")


def _seq_printer(start, end):
    def inner(obj, p, cycle):
        if cycle:
            return p.text(start + "..." + end)
        step = len(start)
        p.begin_group(step, start)
        for idx, x in p._enumerate(obj):
            if idx:
                p.text(",")
                p.breakable()
            p.pretty(x)
        if len(obj) == 1 and isinstance(obj, tuple):
            p.text(",")
        p.end_group(step, end)
    return inner


def _sorted_for_pprint(items):
    items = list(items)
    try:
        return sorted(items)
    except Exception:
        try:
            return sorted(items, key=str)
        except Exception:
            return items


def _set_printer(start, end):
    def inner(obj, p, cycle):
        if cycle:
            return p.text(start + "..." + end)
        if len(obj) == 0:
            p.text(type(obj).__name__ + "()")
            return
        step = len(start)
        p.begin_group(step, start)
        # sorted like IPython, unless huge (sorting would cost more than the cap saves)
        items = obj if p.max_seq_length and len(obj) >= p.max_seq_length \
            else _sorted_for_pprint(obj)
        for idx, x in p._enumerate(items):
            if idx:
                p.text(",")
                p.breakable()
            p.pretty(x)
        p.end_group(step, end)
    return inner


def _dict_printer(start, end):
    def inner(obj, p, cycle):
        if cycle:
            return p.text("{...}")
        step = len(start)
        p.begin_group(step, start)
        for idx, key in p._enumerate(obj.keys()):  # insertion order (IPython >= 8)
            if idx:
                p.text(",")
                p.breakable()
            p.pretty(key)
            p.text(": ")
            p.pretty(obj[key])
        p.end_group(step, end)
    return inner


def _type_pprint(obj, p, cycle):
    """Classes: `module.QualName` (builtins bare), unless the metaclass has a __repr__."""
    reprs = [m for m in type(obj).__mro__ if "__repr__" in vars(m)][:1]
    if reprs != [type]:
        _repr_pprint(obj, p, cycle)
        return
    mod = _safe_getattr(obj, "__module__", None)
    try:
        name = obj.__qualname__
        if not isinstance(name, str):
            raise TypeError
    except Exception:
        name = _safe_getattr(obj, "__name__", None)
        if not isinstance(name, str):
            name = "<unknown type>"
    p.text(name if mod in _BUILTIN_MODULES or not isinstance(mod, str) else mod + "." + name)


def _function_pprint(obj, p, cycle):
    """`<function module.qualname(signature)>`, builtins without module."""
    name = _safe_getattr(obj, "__qualname__", None) or _safe_getattr(obj, "__name__", "?")
    mod = _safe_getattr(obj, "__module__", None)
    if mod and mod not in _BUILTIN_MODULES:
        name = "%s.%s" % (mod, name)
    import inspect  # loaded on first use (start time)
    try:
        func_def = name + str(inspect.signature(obj))
    except (ValueError, TypeError):
        func_def = name
    p.text("<function %s>" % func_def)


class _CallExpression:
    """Prints `name(arg, ..., kw=value)`, wrapping like a tuple."""

    def __init__(self, name, args=(), kwargs=None):
        self.name, self.args, self.kwargs = name, args, kwargs or {}

    def _repr_pretty_(self, p, cycle):
        started = False
        prefix = self.name + "("
        p.begin_group(len(prefix), prefix)
        items = [(None, a) for a in self.args] + list(self.kwargs.items())
        for key, value in items:
            if started:
                p.text(",")
                p.breakable()
            started = True
            if key is None:
                p.pretty(value)
            else:
                arg_prefix = key + "="
                p.begin_group(len(arg_prefix), arg_prefix)
                p.pretty(value)
                p.end_group(len(arg_prefix))
        p.end_group(len(prefix), ")")


class _RawText:
    def __init__(self, value):
        self.value = value

    def _repr_pretty_(self, p, cycle):
        p.text(self.value)


def _call(p, name, /, *args, **kwargs):
    p.pretty(_CallExpression(name, args, kwargs))


def _exception_pprint(obj, p, cycle):
    cls = obj.__class__
    name = _safe_getattr(cls, "__qualname__", None) or cls.__name__
    if cls.__module__ not in ("exceptions", "builtins"):
        name = "%s.%s" % (cls.__module__, name)
    _call(p, name, *_safe_getattr(obj, "args", ()))


_RE_FLAGS = ("IGNORECASE", "LOCALE", "MULTILINE", "DOTALL", "UNICODE", "VERBOSE", "DEBUG")


def _re_pattern_pprint(obj, p, cycle):
    import re
    base = repr(obj.pattern)
    prefix = "r"
    if base[:1] in "uU":
        base, prefix = base[1:], "ur"
    args = [_RawText(prefix + base.replace("\\\\", "\\"))]
    if obj.flags:
        args.append(_RawText("|".join("re." + f for f in _RE_FLAGS
                                      if obj.flags & getattr(re, f, 0))))
    _call(p, "re.compile", *args)


def _namespace_pprint(obj, p, cycle):
    if cycle:
        _call(p, "namespace", _RawText("..."))
    else:
        _call(p, "namespace", **obj.__dict__)


def _super_pprint(obj, p, cycle):
    p.begin_group(8, "<super: ")
    p.pretty(obj.__thisclass__)
    p.text(",")
    p.breakable()
    p.pretty(obj.__self__)
    p.end_group(8, ">")


# collections types, matched by (module, name) so collections is never imported here
def _defaultdict_pprint(obj, p, cycle):
    if cycle:
        _call(p, obj.__class__.__name__, _RawText("..."))
    else:
        _call(p, obj.__class__.__name__, obj.default_factory, dict(obj))


def _ordereddict_pprint(obj, p, cycle):
    name = obj.__class__.__name__
    if cycle:
        _call(p, name, _RawText("..."))
    elif len(obj):
        _call(p, name, list(obj.items()))
    else:
        _call(p, name)


def _deque_pprint(obj, p, cycle):
    name = obj.__class__.__name__
    if cycle:
        _call(p, name, _RawText("..."))
    elif obj.maxlen is not None:
        _call(p, name, list(obj), maxlen=obj.maxlen)
    else:
        _call(p, name, list(obj))


def _counter_pprint(obj, p, cycle):
    name = obj.__class__.__name__
    if cycle:
        _call(p, name, _RawText("..."))
    elif len(obj):
        _call(p, name, dict(obj))
    else:
        _call(p, name)


def _userlist_pprint(obj, p, cycle):
    if cycle:
        _call(p, obj.__class__.__name__, _RawText("..."))
    else:
        _call(p, obj.__class__.__name__, obj.data)


_TYPE_PRINTERS = {
    int: _repr_pprint, float: _repr_pprint, str: _repr_pprint, bytes: _repr_pprint,
    range: _repr_pprint, slice: _repr_pprint,
    tuple: _seq_printer("(", ")"), list: _seq_printer("[", "]"),
    dict: _dict_printer("{", "}"),
    set: _set_printer("{", "}"), frozenset: _set_printer("frozenset({", "})"),
    types.MappingProxyType: _dict_printer("mappingproxy({", "})"),
    super: _super_pprint, type: _type_pprint,
    types.FunctionType: _function_pprint, types.BuiltinFunctionType: _function_pprint,
    types.MethodType: _repr_pprint, types.SimpleNamespace: _namespace_pprint,
    BaseException: _exception_pprint,
}
if type(os.environ) is not dict:
    _TYPE_PRINTERS[type(os.environ)] = _dict_printer("environ{", "}")

_NAMED_PRINTERS = {
    ("collections", "defaultdict"): _defaultdict_pprint,
    ("collections", "OrderedDict"): _ordereddict_pprint,
    ("collections", "deque"): _deque_pprint,
    ("collections", "Counter"): _counter_pprint,
    ("collections", "UserList"): _userlist_pprint,
    ("re", "Pattern"): _re_pattern_pprint,
}


def _printer_for(cls):
    try:
        printer = _TYPE_PRINTERS.get(cls)
    except TypeError:  # unhashable metaclass instance
        return None
    if printer is None:
        key = (_safe_getattr(cls, "__module__", None), _safe_getattr(cls, "__name__", None))
        try:
            printer = _NAMED_PRINTERS.get(key)
        except TypeError:
            return None
    return printer


def text_plain(obj):
    """text/plain for a result or display(): pretty(), else repr(), else a placeholder."""
    try:
        return pretty(obj)
    except Exception:
        pass
    try:
        return repr(obj)
    except Exception as e:
        return "<unrepresentable %s: %s>" % (type(obj).__name__, e)
