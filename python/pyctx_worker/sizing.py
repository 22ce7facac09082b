"""Cheap descriptions of live objects: short repr and a bounded size estimate.

deep_size() walks containers and instance dicts with a node budget (so a huge
list costs the same as a small one: the rest is extrapolated), uses nbytes for
array-likes and memory_usage(deep=True) for pandas objects. short_repr() never
builds the full repr of big bytes/str values.
"""

import reprlib
import sys
import types

_NODE_BUDGET = 2000
_REPR_MAX = 120

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 8
_repr.maxlevel = 3

_NO_DESCEND = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
               types.MethodType, types.CodeType, types.FrameType)


def short_repr(obj):
    t = type(obj)
    if t is int or t is float or t is bool or obj is None:
        s = repr(obj)
        return s if len(s) <= _REPR_MAX else s[:_REPR_MAX - 3] + "..."
    if t is str and len(obj) <= 70:
        return repr(obj)
    try:
        if isinstance(obj, (bytes, bytearray)):
            s = repr(obj[:60]) + ("..." if len(obj) > 60 else "")
        elif isinstance(obj, memoryview):
            s = "<memoryview %d bytes>" % obj.nbytes
        else:
            s = _repr.repr(obj)
    except Exception as e:
        s = "<%s (repr failed: %s)>" % (type(obj).__name__, type(e).__name__)
    if len(s) > _REPR_MAX:
        s = s[:_REPR_MAX - 3] + "..."
    return s


def _special_size(obj):
    mod = type(obj).__module__ or ""
    if mod.startswith("pandas"):
        mu = getattr(obj, "memory_usage", None)
        if mu is not None:
            try:
                r = mu(deep=True)
                return int(r.sum()) if hasattr(r, "sum") else int(r)
            except Exception:
                return None
    if mod.startswith(("numpy", "torch", "jax", "cupy")) or type(obj).__name__ == "ndarray":
        nb = getattr(obj, "nbytes", None)
        if isinstance(nb, int):
            return max(nb, sys.getsizeof(obj, 0))  # a view's getsizeof omits its data
    return None


def deep_size(obj, budget=_NODE_BUDGET):
    """Approximate bytes reachable from obj (shared objects counted once)."""
    special = _special_size(obj)
    if special is not None:
        return special
    seen = set()
    total = 0
    root = None  # the root's own size: left out of the per-node mean (a list's pointer array is not a child)
    nodes = 0
    stack = [obj]
    pending_estimate = 0  # children we did not visit, valued at the mean node size
    while stack:
        o = stack.pop()
        oid = id(o)
        if oid in seen:
            continue
        seen.add(oid)
        if nodes >= budget:
            pending_estimate += 1 + len(stack)
            break
        nodes += 1
        try:
            size = sys.getsizeof(o, 64)
        except Exception:
            size = 64
        total += size
        if root is None:
            root = size
        if isinstance(o, _NO_DESCEND) or isinstance(o, (str, bytes, bytearray, int, float)):
            continue
        sp = _special_size(o) if o is not obj else None
        if sp is not None:
            total += sp
            continue
        try:
            if isinstance(o, dict):
                stack.extend(o.keys())
                stack.extend(o.values())
            elif isinstance(o, (list, tuple, set, frozenset)):
                stack.extend(o)
            else:
                d = getattr(o, "__dict__", None)
                if isinstance(d, dict):
                    stack.append(d)
        except Exception:
            pass
    if pending_estimate and nodes > 1:
        total += int((total - root) / (nodes - 1) * pending_estimate)
    return total


def type_info(obj):
    t = type(obj)
    return t.__name__, t.__module__ or "builtins"
