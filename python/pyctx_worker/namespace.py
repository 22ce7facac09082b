"""The user namespace: a real module registered as sys.modules['__main__'].

Classes and functions defined in cells therefore pickle, and `__name__ ==
'__main__'` holds. The Namespace also tracks, per variable, the execution count
that last assigned it, and lists variables as refs (kind 'variable', id
'var:<name>') with size/repr cached per object so a listing of 10,000
variables stays fast.
"""

import builtins
import gc
import sys
import threading
import time
import types

from . import sizing
from .codec import Prepacked
from .protocol import ErrorCode

_LIST_BUDGET_S = 0.05  # fresh size estimates per listing; the rest come next time


class Namespace:
    def __init__(self):
        self._previous_main = sys.modules.get("__main__")  # keep it alive
        self.module = types.ModuleType("__main__")
        self.module.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = self.module
        self.ns = self.module.__dict__
        self.assigned = {}   # name -> [id(obj), execution_count, first_seen, last_assigned]
        self.cache = {}      # name -> (id(obj), len or None, info): an unchanged variable
        #                      is listed from here (size estimate, repr, encoding cached)
        self.lock = threading.Lock()  # track() (main thread) vs listing (control thread)
        self.is_hidden = lambda name, value: False  # the shell's own names (In, Out...)

    def _listed(self, name, value):
        return not name.startswith("_") and not isinstance(value, types.ModuleType) \
            and not self.is_hidden(name, value)

    def track(self, execution_count):
        """After an exec: remember which names that cell (re)assigned."""
        with self.lock:
            self._track(execution_count)

    def _track(self, execution_count):
        now = time.time()
        assigned = self.assigned
        items = list(self.ns.items())
        for name, value in items:
            rec = assigned.get(name)
            if rec is None:
                assigned[name] = [id(value), execution_count, now, now]
            elif rec[0] != id(value):
                rec[0] = id(value)
                rec[1] = execution_count
                rec[3] = now
        if len(assigned) > len(items):
            live = self.ns
            for name in [n for n in assigned if n not in live]:
                del assigned[name]
                self.cache.pop(name, None)

    def lookup(self, name, session):
        from .refs import RefError
        try:
            return self.ns[name]
        except KeyError:
            raise RefError(ErrorCode.REF_NOT_FOUND,
                           "variable '%s' is not defined in session '%s' (deleted or released)"
                           % (name, session), ref_id="var:" + name, session_id=session,
                           reason="released")

    def release(self, name):
        if name not in self.ns:
            return False
        del self.ns[name]
        with self.lock:
            self.assigned.pop(name, None)
            self.cache.pop(name, None)
        gc.collect()
        return True

    def release_all(self):
        """Deletes every listed variable (what variables() shows); returns how many."""
        names = [n for n, v in list(self.ns.items()) if self._listed(n, v)]
        with self.lock:
            for name in names:
                self.ns.pop(name, None)
                self.assigned.pop(name, None)
                self.cache.pop(name, None)
        if names:
            gc.collect()
        return len(names)

    def variables(self, session):
        with self.lock:
            return self._variables(session)

    def _variables(self, session):
        out = []
        deadline = time.monotonic() + _LIST_BUDGET_S
        cache = self.cache
        assigned = self.assigned
        hidden = self.is_hidden
        now = time.time()
        for name, value in list(self.ns.items()):
            if name[0] == "_" or isinstance(value, types.ModuleType) or hidden(name, value):
                continue
            oid = id(value)
            try:
                length = len(value) if isinstance(value, _SIZED) else None
            except Exception:
                length = None
            c = cache.get(name)
            if c is not None and c[0] == oid and c[1] == length and c[2]["session_id"] == session:
                out.append(c[2])  # unchanged since the last listing
                continue
            estimated = time.monotonic() < deadline
            if estimated:
                size, text = sizing.deep_size(value), sizing.short_repr(value)
            else:  # over budget: cheap placeholders now, real estimates next listing
                size, text = sys.getsizeof(value, 64), "<%s>" % type(value).__name__
            rec = assigned.get(name)
            t = type(value)
            info = Prepacked(
                id="var:" + name, session_id=session, kind="variable", name=name,
                type_name=t.__name__, python_module=t.__module__ or "builtins",
                size_bytes=size, repr=text, created_at=rec[2] if rec else now,
                last_access=rec[3] if rec else now, ttl_seconds=None)
            if rec is not None:
                info["execution_count"] = rec[1]
            if estimated:
                cache[name] = (oid, length, info)
            out.append(info)
        return out


_SIZED = (list, dict, set, tuple, str, bytes, bytearray)
