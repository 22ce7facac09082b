"""Ref registry: live Python objects held for the pool, keyed by (session, ref id).

Ids are 128-bit random hex. Entries keep the object, created_at/last_access, type, module, a short repr and
a cached size estimate. Each session has an OrderedDict in least-recently-used
order, an optional TTL (idle time since last access) and a maximum count; both
are enforced here (prune on every registry operation, plus a janitor thread
while any TTL is set). Removed ids leave a bounded tombstone so a later lookup
can say released / expired / evicted. Ids of exec results are 'res:<n>';
namespace variables ('var:<name>') are resolved through the Namespace.

Also the wire conversions: to_wire() turns a result into plain data with
non-plain leaves registered as refs; resolve() replaces refs inside args.
All registry state is guarded by one lock (the control thread reads it).
"""

import collections
import gc
import os
import threading
import time

from . import sizing
from .protocol import ErrorCode, REF_SCHEMA, REF_TYPE

DEFAULT_MAX_REFS = 10000
_TOMBSTONES = 10000
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1
_MAX_DEPTH = 64


class RefError(Exception):
    def __init__(self, code, message, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def wire(self):
        err = {"code": self.code, "message": self.message}
        err.update(self.extra)
        return err


class Entry:
    __slots__ = ("obj", "id", "session", "kind", "name", "created_at", "last_access",
                 "type_name", "module", "repr", "size", "execution_count")

    def __init__(self, obj, ref_id, session, kind, name=None, execution_count=None):
        now = time.time()
        self.obj = obj
        self.id = ref_id
        self.session = session
        self.kind = kind
        self.name = name
        self.created_at = now
        self.last_access = now
        self.type_name, self.module = sizing.type_info(obj)
        self.repr = None
        self.size = None
        self.execution_count = execution_count

    def wire_ref(self):
        return {"__type__": REF_TYPE, "__schema__": REF_SCHEMA, "id": self.id,
                "session_id": self.session, "type_name": self.type_name,
                "python_module": self.module}

    def info(self, ttl):
        if self.repr is None:
            self.repr = sizing.short_repr(self.obj)
        if self.size is None:
            self.size = sizing.deep_size(self.obj)
        d = {"id": self.id, "session_id": self.session, "kind": self.kind,
             "type_name": self.type_name, "python_module": self.module,
             "size_bytes": self.size, "repr": self.repr, "created_at": self.created_at,
             "last_access": self.last_access, "ttl_seconds": ttl}
        if self.name is not None:
            d["name"] = self.name
        if self.execution_count is not None:
            d["execution_count"] = self.execution_count
        return d


class SessionRefs:
    __slots__ = ("entries", "by_obj", "ttl", "max_refs")

    def __init__(self):
        self.entries = collections.OrderedDict()  # ref id -> Entry, LRU first
        self.by_obj = {}                           # id(obj) -> ref id (kind 'ref' only)
        self.ttl = None
        self.max_refs = DEFAULT_MAX_REFS


class Registry:
    def __init__(self):
        self.lock = threading.RLock()
        self.sessions = {}
        self.tombstones = collections.OrderedDict()
        self.expired = 0
        self.evicted = 0
        self.namespace = None       # Namespace, for 'var:' ids
        self.namespace_session = None
        self._janitor = None

    # -- configuration

    def session(self, sid):
        s = self.sessions.get(sid)
        if s is None:
            s = self.sessions[sid] = SessionRefs()
        return s

    def configure(self, sid, ttl=None, max_refs=None, set_ttl=False, set_max=False):
        with self.lock:
            s = self.session(sid)
            if set_ttl:
                s.ttl = float(ttl) if ttl else None
            if set_max:
                s.max_refs = int(max_refs) if max_refs else DEFAULT_MAX_REFS
            self._prune_session(s, time.time())
            if s.ttl and self._janitor is None:
                self._janitor = threading.Thread(target=self._janitor_run,
                                                 name="pyctx-ref-ttl", daemon=True)
                self._janitor.start()

    # -- removal bookkeeping (lock held)

    def _remove(self, s, ref_id, reason):
        e = s.entries.pop(ref_id, None)
        if e is None:
            return None
        if s.by_obj.get(id(e.obj)) == ref_id:
            del s.by_obj[id(e.obj)]
        self.tombstones[(e.session, ref_id)] = reason
        if len(self.tombstones) > _TOMBSTONES:
            self.tombstones.popitem(last=False)
        return e

    def _prune_session(self, s, now):
        if s.ttl:
            limit = now - s.ttl
            entries = s.entries
            while entries:
                first = next(iter(entries.values()))
                if first.last_access > limit:
                    break
                self._remove(s, first.id, "expired")
                self.expired += 1
        while len(s.entries) > s.max_refs:
            first = next(iter(s.entries))
            self._remove(s, first, "evicted")
            self.evicted += 1

    def prune(self):
        with self.lock:
            now = time.time()
            for s in list(self.sessions.values()):
                if s.ttl:
                    self._prune_session(s, now)

    def _janitor_run(self):
        try:  # SIGINT belongs to the main thread (it must wake a blocking call there)
            import _signal
            _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})
        except (ImportError, AttributeError, OSError, ValueError):
            pass
        while True:
            ttls = [s.ttl for s in list(self.sessions.values()) if s.ttl]
            time.sleep(min(max(min(ttls) / 4, 0.05), 5.0) if ttls else 5.0)
            self.prune()

    # -- store / lookup

    def store(self, sid, obj, kind="ref", ref_id=None, name=None, execution_count=None):
        with self.lock:
            s = self.session(sid)
            if kind == "ref":
                existing = s.by_obj.get(id(obj))
                if existing is not None:
                    e = s.entries[existing]
                    e.last_access = time.time()
                    s.entries.move_to_end(existing)
                    return e
            if ref_id is None:
                ref_id = os.urandom(16).hex()  # = secrets.token_hex, without its imports
            elif ref_id in s.entries:
                self._remove(s, ref_id, "replaced")
            e = Entry(obj, ref_id, sid, kind, name, execution_count)
            s.entries[ref_id] = e
            if kind == "ref":
                s.by_obj[id(obj)] = ref_id
            self._prune_session(s, e.created_at)
            return e

    def get(self, sid, ref_id):
        with self.lock:
            s = self.sessions.get(sid)
            now = time.time()
            if s is not None:
                self._prune_session(s, now)
                e = s.entries.get(ref_id)
                if e is not None:
                    e.last_access = now
                    s.entries.move_to_end(ref_id)
                    return e.obj
            reason = self.tombstones.get((sid, ref_id))
            why = (" (%s)" % reason) if reason else " (unknown id, or released long ago)"
            raise RefError(ErrorCode.REF_NOT_FOUND,
                           "ref '%s' not found in session '%s'%s" % (ref_id, sid, why),
                           ref_id=ref_id, session_id=sid, reason=reason or "unknown")

    def release_ref(self, sid, ref_id):
        """True when it existed; idempotent."""
        with self.lock:
            s = self.sessions.get(sid)
            e = self._remove(s, ref_id, "released") if s is not None else None
        existed = e is not None
        del e
        if existed:
            gc.collect()
        return existed

    def release_results_holding(self, sid, obj):
        """Releases the session's exec results (output history) that are `obj`; their names."""
        with self.lock:
            s = self.sessions.get(sid)
            if s is None:
                return []
            ids = [i for i, e in s.entries.items() if e.kind == "result" and e.obj is obj]
            removed = [self._remove(s, i, "released with the variable holding the same object") for i in ids]
            names = [e.name for e in removed if e is not None]
            del removed
        return names

    def release_session(self, sid):
        with self.lock:
            s = self.sessions.get(sid)
            if s is None:
                return 0
            ids = list(s.entries)
            for ref_id in ids:
                self._remove(s, ref_id, "session released")
            del self.sessions[sid]
        if ids:
            gc.collect()
        return len(ids)

    # -- listing

    def list(self, sid=None):
        with self.lock:
            self.prune()
            out = []
            for s_id, s in list(self.sessions.items()):
                if sid is not None and s_id != sid:
                    continue
                for e in s.entries.values():
                    out.append(e.info(s.ttl))
            return out

    def counts(self):
        with self.lock:
            return sum(len(s.entries) for s in self.sessions.values()), len(self.sessions)

    def stats(self):
        with self.lock:
            self.prune()
            sessions = {}
            total = 0
            for sid, s in self.sessions.items():
                size = 0
                for e in s.entries.values():
                    if e.size is None:
                        e.size = sizing.deep_size(e.obj)
                    size += e.size
                sessions[sid] = {"count": len(s.entries), "bytes": size,
                                 "ttl_seconds": s.ttl, "max_refs": s.max_refs}
                total += len(s.entries)
            return {"sessions": sessions, "total": total, "expired": self.expired,
                    "evicted": self.evicted}


# ---------------------------------------------------------------- wire helpers

def validate_ref(ref):
    """Raise invalid_ref unless ref looks like a wire ref; return (session_id, id)."""
    if not isinstance(ref, dict):
        raise RefError(ErrorCode.INVALID_REF, "invalid ref: expected a map, got %s"
                       % type(ref).__name__, reason="not_a_map")
    if "__type__" not in ref:
        raise RefError(ErrorCode.INVALID_REF, "invalid ref: missing '__type__' field",
                       reason="missing_type")
    if ref["__type__"] != REF_TYPE:
        raise RefError(ErrorCode.INVALID_REF, "invalid ref: unknown __type__ %r"
                       % (ref["__type__"],), reason="unknown_type")
    if not ref.get("id") or not isinstance(ref.get("id"), str):
        raise RefError(ErrorCode.INVALID_REF, "invalid ref: missing 'id' field",
                       reason="missing_id")
    if "__schema__" in ref and ref["__schema__"] != REF_SCHEMA:
        raise RefError(ErrorCode.INVALID_REF, "invalid ref: unknown schema %r (expected %d)"
                       % (ref["__schema__"], REF_SCHEMA), reason="unknown_schema")
    return ref.get("session_id"), ref["id"]


def _looks_like_ref(d):
    return "__type__" in d and d["__type__"] == REF_TYPE or ("__schema__" in d and "id" in d)


class Converter:
    """Per-request conversions between wire values and Python objects."""

    def __init__(self, registry, session):
        self.registry = registry
        self.session = session

    def lookup(self, ref):
        rsid, ref_id = validate_ref(ref)
        sid = self.session
        if rsid and rsid != sid:
            raise RefError(ErrorCode.SESSION_MISMATCH,
                           "ref '%s' belongs to session '%s', not to session '%s'"
                           % (ref_id, rsid, sid), ref_id=ref_id, expected_session=rsid,
                           actual_session=sid)
        if ref_id.startswith("var:"):
            return self.registry.namespace.lookup(ref_id[4:], sid)
        return self.registry.get(sid, ref_id)

    def resolve(self, value, depth=0):
        """args/kwargs from the wire with every ref replaced by its object."""
        t = type(value)
        if t is list:
            return [self.resolve(v, depth + 1) for v in value]
        if t is dict:
            if _looks_like_ref(value):
                return self.lookup(value)
            return {k: self.resolve(v, depth + 1) for k, v in value.items()}
        return value

    def to_wire(self, value):
        """Plain data stays as is; anything else becomes a ref (one id per object)."""
        t = type(value)
        if value is None or t is bool or t is float or t is str or t is bytes:
            return value
        if t is int and _INT_MIN <= value <= _INT_MAX:
            return value
        return self._conv(value, {}, set(), 0)

    def _conv(self, value, memo, active, depth):
        t = type(value)
        if value is None or t is bool or t is float or t is str or t is bytes:
            return value
        if t is int and _INT_MIN <= value <= _INT_MAX:
            return value
        if isinstance(value, (int, float, str)) and t is not bool:
            # subclasses (IntEnum, numpy.float64, str subclasses) travel as the base value
            base = int if isinstance(value, int) else float if isinstance(value, float) else str
            plain = base(value)
            if base is not int or _INT_MIN <= plain <= _INT_MAX:
                return plain
        oid = id(value)
        if oid in memo:
            return memo[oid]
        if (t is list or t is tuple or t is dict) and oid not in active and depth < _MAX_DEPTH:
            if t is dict and not all(type(k) in (str, int) for k in value):
                pass
            else:
                active.add(oid)
                try:
                    if t is dict:
                        return {k: self._conv(v, memo, active, depth + 1)
                                for k, v in value.items()}
                    return [self._conv(v, memo, active, depth + 1) for v in value]
                finally:
                    active.discard(oid)
        ref = self.registry.store(self.session, value).wire_ref()
        memo[oid] = ref
        return ref
