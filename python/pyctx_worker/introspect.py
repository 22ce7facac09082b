"""complete and inspect against the live namespace (served by the control thread).

complete: jedi.Interpreter over the namespace when jedi is importable, else
rlcompleter plus keywords and attribute names of live objects. inspect resolves
the dotted name under the cursor with getattr_static (no property, __getattr__
or call runs) and describes it: type, cheap len/shape, short repr, first doc line,
docstring and signature (jedi's inference for names that are not live). Each
completion match carries a kind (variable, function, class, module, keyword,
magic, property) for the editor's icons.
"""

import builtins
import inspect as _inspect
import keyword
import threading
import re

from . import sizing

_NAME_CHARS = re.compile(r"[A-Za-z0-9_.]*$")
_NAME_AFTER = re.compile(r"^[A-Za-z0-9_]*")
_jedi = None
_jedi_failed = False


def _cursor(code, cursor):
    if not isinstance(cursor, int) or cursor < 0 or cursor > len(code):
        return len(code)
    return cursor


def _line_col(code, cursor):
    before = code[:cursor]
    line = before.count("\n") + 1
    col = cursor - (before.rfind("\n") + 1)
    return line, col


def _load_jedi():
    global _jedi, _jedi_failed
    if _jedi is None and not _jedi_failed:
        try:
            import jedi
            _jedi = jedi
        except Exception:
            _jedi_failed = True
    return _jedi


def _jedi_complete(ns, code, cursor):
    jedi = _load_jedi()
    if jedi is None:
        return None
    try:
        line, col = _line_col(code, cursor)
        comps = jedi.Interpreter(code, [dict(ns)]).complete(line, col)
    except Exception:
        return None
    matches, kinds, start = [], [], cursor
    for c in comps[:500]:
        typed = len(c.name_with_symbols) - len(c.complete) if c.complete is not None else 0
        start = cursor - typed
        matches.append(c.name_with_symbols)
        kinds.append(_JEDI_KINDS.get(c.type, "variable"))
    return {"matches": matches, "kinds": kinds, "cursor_start": start, "cursor_end": cursor,
            "source": "jedi"}


# Completion kinds on the wire: variable, function, class, module, keyword, magic, property.
_JEDI_KINDS = {"module": "module", "class": "class", "function": "function", "keyword": "keyword",
               "instance": "variable", "statement": "variable", "param": "variable",
               "property": "property", "path": "variable"}


def _kind_of(obj):
    if _inspect.ismodule(obj):
        return "module"
    if isinstance(obj, type):
        return "class"
    if isinstance(obj, property):
        return "property"
    if callable(obj):
        return "function"
    return "variable"


def _with_kinds(result, ns, base=None):
    """Adds `kinds` to a fallback result: what each match is (no code runs: getattr_static)."""
    kinds = []
    for name in result["matches"]:
        if base is None and keyword.iskeyword(name) and name not in ns:
            kinds.append("keyword")
            continue
        try:
            obj = _resolve(ns, base + "." + name if base else name)
        except Exception:
            kinds.append("variable")
            continue
        kinds.append(_kind_of(obj))
    result["kinds"] = kinds
    return result


def _resolve(ns, dotted, static=True):
    """Object named by dotted ('a.b.c') or raise LookupError. No code runs when static."""
    parts = dotted.split(".")
    if parts[0] in ns:
        obj = ns[parts[0]]
    elif hasattr(builtins, parts[0]):
        obj = getattr(builtins, parts[0])
    else:
        raise LookupError(parts[0])
    for p in parts[1:]:
        try:
            obj = _inspect.getattr_static(obj, p) if static else getattr(obj, p)
        except AttributeError:
            raise LookupError(p)
        if static and isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    return obj


_KEY_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\[\s*(['\"])([^'\"]*)$")


def _key_complete(ns, code, cursor):
    """d['al| -> string keys of the live mapping d."""
    m = _KEY_PREFIX.search(code[:cursor])
    if not m:
        return None
    try:
        obj = _resolve(ns, m.group(1))
    except LookupError:
        return None
    if not isinstance(obj, dict):
        return None
    prefix = m.group(3)
    keys = sorted(k for k in list(obj)[:10000] if isinstance(k, str) and k.startswith(prefix))
    return {"matches": keys, "cursor_start": cursor - len(prefix), "cursor_end": cursor,
            "source": "fallback"}


def _fallback_complete(ns, code, cursor):
    keys = _key_complete(ns, code, cursor)
    if keys is not None:
        return keys
    m = _NAME_CHARS.search(code[:cursor])
    token = m.group(0) if m else ""
    if "." in token:
        base, _, prefix = token.rpartition(".")
        try:
            obj = _resolve(ns, base)
        except LookupError:
            return {"matches": [], "cursor_start": cursor, "cursor_end": cursor,
                    "source": "fallback"}
        try:
            names = set(dir(obj))
        except Exception:
            names = set()
        names = sorted(n for n in names if n.startswith(prefix)
                       and (prefix.startswith("_") or not n.startswith("_")))
        return _with_kinds({"matches": names, "cursor_start": cursor - len(prefix), "cursor_end": cursor,
                            "source": "fallback"}, ns, base)
    prefix = token
    names = set(n for n in list(ns) if n.startswith(prefix))
    names.update(n for n in dir(builtins) if n.startswith(prefix))
    names.update(k for k in keyword.kwlist if k.startswith(prefix))
    names = sorted(n for n in names if prefix.startswith("_") or not n.startswith("_"))
    return _with_kinds({"matches": names, "cursor_start": cursor - len(prefix), "cursor_end": cursor,
                        "source": "fallback"}, ns)


def _magic_complete(code, cursor):
    """`%ti` / `%%wr` at the start of a line: the names of the magics pyctx has."""
    line = code[:cursor].rsplit("\n", 1)[-1]
    m = re.match(r"^[ \t]*(%%?)(\w*)$", line)
    if not m:
        return None
    from .magics import Magics
    kind = "cell_" if m.group(1) == "%%" else "line_"
    names = sorted(m.group(1) + n[len(kind):] for n in dir(Magics)
                   if n.startswith(kind) and n[len(kind):].startswith(m.group(2)))
    start = cursor - len(m.group(1)) - len(m.group(2))
    return {"matches": names, "kinds": ["magic"] * len(names), "cursor_start": start,
            "cursor_end": cursor, "source": "magics"}


def complete(ns, code, cursor, budget_ms=None):
    """Completions at `cursor`. With `budget_ms` (the editor's), jedi gets most of it in
    a thread of its own; past that, the live namespace's names answer (instant), so a
    slow inference (a busy machine, a large cell) never leaves the user with nothing."""
    cursor = _cursor(code, cursor)
    magic = _magic_complete(code, cursor)
    if magic is not None:
        return magic
    result = None
    token = _NAME_CHARS.search(code[:cursor]).group(0)
    if "." in token:
        # Attribute of a live object: dir() of the real value is exact and instant,
        # while jedi re-infers the whole cell (~0.25 s here, over the editor's
        # 200 ms budget). jedi still answers when the base is not a live name.
        result = _fallback_complete(ns, code, cursor)
        if not result["matches"]:
            result = None
    partial = False
    if result is None:
        result = _jedi_within(ns, code, cursor, budget_ms)
        if result == "partial":
            result, partial = None, True
    if result is None or not result["matches"]:
        result = _fallback_complete(ns, code, cursor)
    if partial:
        result["partial"] = True  # jedi was cut short: ask again as the user types
    return result


def _jedi_within(ns, code, cursor, budget_ms):
    """jedi's completions, or None when it is missing or fails, or "partial" when it needs
    more than 60% of `budget_ms` or an earlier inference still runs (it finishes in the
    background, warming jedi's caches; importing jedi happens there too)."""
    global _jedi_busy
    if not budget_ms:
        return _jedi_complete(ns, code, cursor)
    if _jedi_failed:
        return None
    if _jedi_busy:  # an earlier request's inference still runs: no second one beside it
        return "partial"
    box = []
    done = threading.Event()

    def run():
        global _jedi_busy
        try:
            box.append(_jedi_complete(ns, code, cursor))
        finally:
            _jedi_busy = False
            done.set()

    _jedi_busy = True
    threading.Thread(target=run, name="pyctx-jedi", daemon=True).start()
    done.wait(budget_ms * 0.6 / 1000.0)
    return box[0] if box else "partial"


_jedi_busy = False


def _cheap_len(obj):
    if isinstance(obj, (list, tuple, dict, set, frozenset, str, bytes, bytearray, range)):
        return len(obj)
    return None


def _cheap_shape(obj):
    mod = type(obj).__module__ or ""
    if mod.split(".")[0] in ("numpy", "pandas", "torch", "jax", "cupy"):
        try:
            shape = getattr(obj, "shape")
            return [int(x) for x in shape]
        except Exception:
            return None
    return None


def inspect_at(ns, code, cursor):
    cursor = _cursor(code, cursor)
    before = _NAME_CHARS.search(code[:cursor]).group(0)
    after = _NAME_AFTER.match(code[cursor:]).group(0)
    name = (before + after).strip(".")
    if not name or name[0].isdigit():
        return {"found": False}
    try:
        obj = _resolve(ns, name)
    except LookupError:
        if keyword.iskeyword(name):
            return {"found": True, "name": name, "kind": "keyword", "type_name": "keyword"}
        return _jedi_inspect(ns, code, cursor, name) or {"found": False, "name": name}
    t = type(obj)
    out = {"found": True, "name": name, "type_name": t.__name__,
           "python_module": t.__module__ or "builtins", "repr": sizing.short_repr(obj)}
    n = _cheap_len(obj)
    if n is not None:
        out["len"] = n
    shape = _cheap_shape(obj)
    if shape is not None:
        out["shape"] = shape
    try:
        doc = _inspect.getdoc(obj) if isinstance(obj, type) or callable(obj) or \
            _inspect.ismodule(obj) else _inspect.getdoc(t)
    except Exception:
        doc = None
    if doc:
        out["doc"] = doc.strip().splitlines()[0]
        out["docstring"] = doc.strip()[:_DOC_MAX]
    out["kind"] = _kind_of(obj)
    if callable(obj):
        try:
            out["signature"] = name.rsplit(".", 1)[-1] + str(_inspect.signature(obj))
        except (TypeError, ValueError):
            # Builtins without a signature: their docstring's first line often is one.
            first = (doc or "").strip().splitlines()[0] if doc else ""
            if first.startswith(name.rsplit(".", 1)[-1] + "("):
                out["signature"] = first
    return out


_DOC_MAX = 4000


def _jedi_inspect(ns, code, cursor, name):
    """A name that is not live (an import not run yet, a parameter): jedi's inference."""
    jedi = _load_jedi()
    if jedi is None:
        return None
    try:
        line, col = _line_col(code, cursor)
        found = jedi.Interpreter(code, [dict(ns)]).help(line, col) or \
            jedi.Interpreter(code, [dict(ns)]).infer(line, col)
    except Exception:
        return None
    for d in found[:1]:
        out = {"found": True, "name": name, "type_name": d.type, "python_module": d.module_name or "",
               "kind": _JEDI_KINDS.get(d.type, "variable"), "source": "jedi"}
        try:
            sigs = d.get_signatures()
            if sigs:
                out["signature"] = sigs[0].to_string()
            text = d.docstring(raw=True) or ""
        except Exception:
            text = ""
        if text.strip():
            out["doc"] = text.strip().splitlines()[0]
            out["docstring"] = text.strip()[:_DOC_MAX]
        return out
    return None
