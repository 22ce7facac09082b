"""The worker process: channels, request dispatch and the operations.

Main channel (dup'd stdin/stdout): one request at a time on the main thread,
request in -> handler -> stream drain -> reply out, with no thread handoff.
Control channel (fd 3, when present): see control.py.
"""

import builtins
import contextlib
import faulthandler
import gc
import importlib
import os
import select
import stat
import sys
import threading
import time

from . import capture, codec, display, execution, hooks, inband, limits, namespace, refs, runtime, shell
from .framing import (EXIT_PROTOCOL_ERROR, ChannelClosed, FrameDecodeError, FrameReader, FrameTooLarge,
                      FrameWriter)
from .protocol import (CONTROL_FD, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, ErrorCode,
                       Event, Op)

CAPABILITIES = [
    "exec", "eval", "call", "method", "attr", "refs", "display", "input", "interrupt",
    "top_level_await", "runtime_context", "complete", "inspect", "stats",
]


class ProtocolError(Exception):
    pass


class StdinNotImplementedError(NotImplementedError):
    """input() while the front end cannot answer; IPython's error of the same name."""


_NO_STDIN = "raw_input was called, but this frontend does not support input requests."


def _stdin_not_implemented():
    """The error ipykernel raises: IPython's own class when the user has it loaded
    (so `except StdinNotImplementedError` works), else ours (importing IPython
    here would cost a few hundred ms)."""
    cls = getattr(sys.modules.get("IPython.core.error"), "StdinNotImplementedError", None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        cls = StdinNotImplementedError
    return cls(_NO_STDIN)


def _max_frame_bytes():
    try:
        return int(os.environ.get("PYCTX_MAX_FRAME_BYTES") or DEFAULT_MAX_FRAME_BYTES)
    except ValueError:
        return DEFAULT_MAX_FRAME_BYTES


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import resource
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        except Exception:
            return 0


def control_fd_present():
    """True when fd 3 is a socket: the pool's control channel."""
    try:
        return stat.S_ISSOCK(os.fstat(CONTROL_FD).st_mode)
    except OSError:
        return False


class Worker:
    def __init__(self, diag_fd=None, control=None):
        self.started_at = time.time()
        self.max_bytes = _max_frame_bytes()
        sys.stdout.flush()
        sys.stderr.flush()
        # Protocol on private copies of the original stdin/stdout (not inherited
        # by children); fd 0 becomes /dev/null so nothing can steal request bytes.
        self.in_fd = os.dup(0)
        self.out_fd = os.dup(1)
        self.diag_fd = diag_fd if diag_fd is not None else os.dup(2)  # the real stderr
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        self.writer = FrameWriter(self.out_fd, self.max_bytes, execution.shield)
        self.reader = FrameReader(self.in_fd, self.max_bytes)
        self.capture = capture.Capture(self.writer.send, self.max_bytes, execution.shield)
        self.capture.install()
        # A fatal signal (segfault, abort) prints the Python stack of the crashing
        # thread to the real stderr, which the pool reads: the cell's crash notice can
        # say which line of the cell died. The capture pipe could be full; this fd is not.
        faulthandler.enable(file=self.diag_fd, all_threads=False)
        sys.stdin = open(0, "r", closefd=False)
        sys.__stdin__ = sys.stdin

        self.session = os.environ.get("PYCTX_SESSION") or "default"
        self.namespace = namespace.Namespace()
        self.ns = self.namespace.ns
        self.registry = refs.Registry()
        self.registry.namespace = self.namespace
        self.execution_count = 0
        self.in_exec = False
        self.busy = False  # a main-channel request is being handled (its reply not yet sent)
        self.sys_path0 = None
        self.primed = False  # the cell layer's first-use costs paid (_prime)

        self.held = None  # display events held back to follow the result (see hold_displays)
        # The cell layer: IPython's shell when importable (imported now, while the pool
        # warms this worker), else the built-in one. Before hooks.install(): the
        # IPython shim must only ever be found when no real IPython is.
        self.shell, self.shell_note = shell.create(self)
        self.namespace.is_hidden = self.shell.hidden
        os.environ.setdefault("MPLBACKEND", "agg")
        builtins.input = self._input
        hooks.install(self._patch_getpass, real_ipython=self.shell.mode == "ipython")
        execution.install_sigint()
        self._real_exit = os._exit
        self._install_exit_hook()

        self.handlers = {
            Op.HELLO: self.op_hello, Op.CONFIGURE: self.op_configure, Op.EXEC: self.op_exec,
            Op.EVAL: self.op_eval, Op.CALL: self.op_call, Op.METHOD: self.op_method,
            Op.ATTR: self.op_attr, Op.STATS: self.op_stats, Op.REFS_LIST: self.op_refs_list,
            Op.REFS_RELEASE: self.op_refs_release, Op.REFS_STATS: self.op_refs_stats,
            Op.SESSION_RELEASE: self.op_session_release, Op.COMPLETE: self.op_complete,
            Op.INSPECT: self.op_inspect, Op.INTERRUPT: self.op_interrupt, Op.PING: self.op_ping,
            Op.SHUTDOWN: self.op_shutdown,
        }
        self.memory_limit = limits.apply_memory_limit()
        self.preload_errors = self._preload()
        if control is None:
            control = control_fd_present()
        self.control = self._start_control() if control else None
        self.cwd_warning = None  # the notebook's folder is missing on this node (launcher)
        if inband.enabled():  # under a launcher: stdin carries control too (inband.py)
            self.reader = inband.start(self)

    # ------------------------------------------------------------ startup

    def _preload(self):
        errors = []
        for name in (os.environ.get("PYCTX_PRELOAD") or "").split(","):
            name = name.strip()
            if not name:
                continue
            try:
                importlib.import_module(name)
            except BaseException as e:  # a preload must never kill the worker
                errors.append({"module": name, "error": "%s: %s" % (type(e).__name__, e)})
        return errors

    def _prime(self):
        """After the hello (the pool now counts this worker ready): the first cell's
        one-time costs, paid while the worker waits in the warm pool, not in the user's
        first cell. A request that comes meanwhile waits for it (tens of ms)."""
        self.primed = True
        try:
            self.shell.prime()
        except Exception as e:  # never fatal: the first cell then pays as before
            self.diag("priming the cell layer failed: %s: %s" % (type(e).__name__, e))

    def _start_control(self):
        os.set_inheritable(CONTROL_FD, False)
        from . import control
        return control.start(self, CONTROL_FD)

    def diag(self, text):
        try:
            os.write(self.diag_fd, ("[pyctx_worker %d] %s\n" % (os.getpid(), text)).encode())
        except OSError:
            pass

    # ------------------------------------------------------------ main loop

    def serve(self):
        read = self.reader.read
        while True:
            try:
                req = read()
            except FrameTooLarge as e:
                # Fatal: the parent broke the protocol, and skipping the body could
                # mean reading gigabytes. Say so once (reply and real stderr), exit.
                self.writer.send({"id": None, "ok": False, "error": {
                    "code": ErrorCode.PROTOCOL_ERROR, "message": str(e),
                    "size": e.size, "limit": e.limit}})
                self.diag("protocol error, exiting: %s" % e)
                self._real_exit(EXIT_PROTOCOL_ERROR)
            except FrameDecodeError as e:
                self.writer.send(_error(None, ErrorCode.PROTOCOL_ERROR,
                                        "undecodable frame: %s" % e))
                continue
            except ChannelClosed:
                return
            except KeyboardInterrupt:  # defensive: the handler only raises in user code
                continue
            try:
                self.handle(req)
                if not self.primed and type(req) is dict and req.get("op") == Op.HELLO:
                    self._prime()
            except KeyboardInterrupt:
                execution.state.running = False
                self.capture.active = False
                self.busy = False

    def handle(self, req):
        if type(req) is not dict:
            self.writer.send(_error(None, ErrorCode.PROTOCOL_ERROR,
                                    "a request must be a map, got %s" % type(req).__name__))
            return
        rid = req.get("id")
        op = req.get("op")
        handler = self.handlers.get(op)
        if handler is None or (rid is not None and type(rid) is not int):
            if op == Op.INPUT_REPLY:
                msg = "input_reply received while no input() is waiting"
            elif handler is None:
                msg = "unknown op %r" % (op,)
            else:
                msg = "request id must be an integer"
            self.writer.send(_error(rid if type(rid) is int else None,
                                    ErrorCode.PROTOCOL_ERROR, msg))
            return
        self.capture.begin(rid)
        self.busy = True
        token = runtime.enter(req.get("runtime_context"))
        # fresh_namespace: a stateless caller's code runs in a throwaway __main__-like
        # dict, so nothing it defines is seen by the next unrelated caller.
        kept_ns = self.ns
        if req.get("fresh_namespace") is True:
            self.ns = {"__name__": "__main__", "__builtins__": builtins}
        try:
            reply = {"id": rid, "ok": True, "value": handler(req)}
        except refs.RefError as e:
            reply = {"id": rid, "ok": False, "error": e.wire()}
        except ProtocolError as e:
            reply = _error(rid, ErrorCode.PROTOCOL_ERROR, str(e))
        except KeyboardInterrupt as e:
            execution.state.running = False
            content = execution.error_content(e)
            reply = {"id": rid, "ok": False, "error": dict(
                code=ErrorCode.INTERRUPTED, message="interrupted", **content)}
        except BaseException as e:  # SystemExit included: user code never ends the worker
            execution.state.running = False
            content = execution.error_content(e)
            reply = {"id": rid, "ok": False, "error": dict(
                code=ErrorCode.PYTHON_ERROR,
                message="%s: %s" % (content["ename"], content["evalue"]), **content)}
        finally:
            runtime.leave(token)
            self.ns = kept_ns
        self.capture.active = False  # before the last drain: it ends a flood (see capture.py)
        self.capture.drain()
        self.writer.send(reply)
        self.busy = False
        if op == Op.SHUTDOWN:
            self._exit()

    def emit_event(self, event):
        """Send an event of the running request after its pending stream output."""
        held = self.held
        if held is not None and event.get("event") == Event.DISPLAY:
            held.append({k: event[k] for k in ("data", "metadata", "transient") if k in event})
            return
        self.capture.drain()
        event["id"] = self.capture.request_id
        self.writer.send(event)

    @contextlib.contextmanager
    def divert_output(self, on_stream, on_display):
        """While open, the cell's output (fds 1/2 and display events) is offered to
        the two callables (%%capture), and sent as usual when they return False.
        What was written before is sent first; what was written inside, up to the
        close, is offered."""
        self.capture.drain()
        old_sink = display._sink
        with self.capture.lock:
            self.capture.divert = on_stream
        display._sink = lambda event: on_display(event) or old_sink(event)
        try:
            yield
        finally:
            try:
                self.capture.drain()
            finally:
                with self.capture.lock:
                    self.capture.divert = None
                display._sink = old_sink

    def session_of(self, req):
        s = req.get("session")
        return s if isinstance(s, str) and s else self.session

    def _exit(self):
        try:
            import atexit
            atexit._run_exitfuncs()
        except BaseException:
            pass
        self.capture.drain()
        self._real_exit(0)

    # ------------------------------------------------------------ os._exit()

    def _install_exit_hook(self):
        """os._exit() from user code first sends the output printed before it.

        The capture thread batches on a timer, so text flushed right before
        os._exit() would still sit in the pipe when the process dies. While a
        request runs, the wrapper flushes Python's and C's stdio, drains the pipes
        and sends the stream events synchronously, then exits with the same status.
        Forked children (multiprocessing, os.fork) share this os module but not our
        channel: they exit directly.
        """
        pid = os.getpid()
        real_exit = self._real_exit

        def _exit(status, /):
            if os.getpid() == pid and self.busy:
                self._send_output_before_exit()
            real_exit(status)
        _exit.__doc__ = real_exit.__doc__
        os._exit = _exit

    def _send_output_before_exit(self):
        if threading.get_ident() == execution.main_thread_id and execution.state.shield:
            return  # a signal handler interrupted our own frame write: its locks are held
        try:
            self.capture.drain()
        except BaseException:  # a deferred interrupt, a closed pipe: exit anyway
            pass

    # ------------------------------------------------------------ input()

    def _input(self, prompt="", password=False):
        if not self.in_exec or threading.get_ident() != execution.main_thread_id:
            raise EOFError("input() is only available in the main thread of a running exec")
        self.capture.drain()
        self.writer.send({"id": self.capture.request_id, "event": Event.INPUT_REQUEST,
                          "prompt": str(prompt), "password": bool(password)})
        reader = self.reader
        # Wait interruptibly (SIGINT may cancel the cell), but read the frame itself
        # with interrupts off so a KeyboardInterrupt cannot cut a frame in half.
        if hasattr(reader, "wait_frame"):
            reader.wait_frame()
        while len(getattr(reader, "buf", b"....")) < 4:
            r, _, _ = select.select([reader.fd], [], [])
            if r:
                break
        state = execution.state
        was = state.running
        state.running = False
        try:
            req = reader.read()
        except FrameTooLarge as e:
            self.diag("protocol error, exiting: %s" % e)
            self._real_exit(EXIT_PROTOCOL_ERROR)
        except FrameDecodeError as e:
            raise EOFError("input() aborted: bad input_reply frame (%s)" % e)
        except ChannelClosed:
            raise EOFError("input() aborted: the pool closed the channel")
        finally:
            state.running = was
        if type(req) is not dict or req.get("op") != Op.INPUT_REPLY:
            op = req.get("op") if type(req) is dict else None
            rid = req.get("id") if type(req) is dict else None
            self.writer.send(_error(rid if type(rid) is int else None, ErrorCode.PROTOCOL_ERROR,
                                    "expected input_reply while input() waits, got %r" % (op,)))
            raise EOFError("input() aborted: received %r instead of input_reply" % (op,))
        if req.get("unavailable"):  # the caller has no way to ask (no onInput handler)
            raise _stdin_not_implemented()
        if req.get("cancelled"):  # the user dismissed the prompt
            raise KeyboardInterrupt("input cancelled")
        value = req.get("value")
        return "" if value is None else str(value)

    def _patch_getpass(self, module):
        module.getpass = self._getpass

    def _getpass(self, prompt="Password: ", stream=None):
        return self._input(prompt, password=True)

    # ------------------------------------------------------------ operations

    def op_hello(self, req):
        return {
            "shell": self.shell.mode, "ipython_version": self.shell.version,
            "shell_note": self.shell_note,
            "pid": os.getpid(), "protocol": PROTOCOL_VERSION,
            "python_version": "%d.%d.%d" % sys.version_info[:3],
            "executable": sys.executable, "codec": codec.CODEC_NAME,
            "capabilities": CAPABILITIES + (["control"] if self.control else []),
            "preload_errors": self.preload_errors, "session": self.session,
            "max_frame_bytes": self.max_bytes, "capture_fds": self.capture.read_fds(),
            "memory_limit": self.memory_limit, "host": _hostname(),
            "cwd_warning": self._enter_cwd(req.get("cwd")),
        }

    def _enter_cwd(self, path):
        if path:
            self.cwd_warning = inband.enter_cwd(path)
        return self.cwd_warning

    def op_configure(self, req):
        if req.get("session"):
            self.session = str(req["session"])
        sid = self.session
        for key in ("cwd", "sys_path0"):
            # A path, never an int: os.chdir(12345) would take it as a file descriptor.
            if req.get(key) and type(req[key]) is not str:
                raise ProtocolError("configure: %s must be a string path, got %s"
                                    % (key, type(req[key]).__name__))
        if "cwd" in req and req["cwd"]:
            if inband.enabled():  # a remote node may lack the notebook's folder
                self._enter_cwd(req["cwd"])
            else:
                os.chdir(req["cwd"])
        if "sys_path0" in req and req["sys_path0"]:
            p = os.path.abspath(req["sys_path0"])
            if self.sys_path0 is not None and self.sys_path0 in sys.path:
                sys.path.remove(self.sys_path0)
            if p in sys.path:
                sys.path.remove(p)
            sys.path.insert(0, p)
            self.sys_path0 = p
        has_ttl, has_max = "ref_ttl_seconds" in req, "max_refs_per_session" in req
        if has_ttl or has_max:
            self.registry.configure(sid, req.get("ref_ttl_seconds"),
                                    req.get("max_refs_per_session"), has_ttl, has_max)
        return None

    def op_exec(self, req):
        code = req.get("code")
        if not isinstance(code, str):
            raise ProtocolError("exec needs 'code' (a string)")
        store = req.get("store_history", True) is not False
        if store:
            self.execution_count += 1
        count = self.execution_count
        sid = self.session_of(req)
        reply = {"status": "ok", "execution_count": count}
        if self.cwd_warning:
            self.emit_event({"event": Event.STREAM, "name": "stderr", "text": self.cwd_warning})
            self.cwd_warning = None
        self.in_exec = True
        if "asyncio" in sys.modules:
            execution.adopt_asyncio()  # imported from another thread or before our hook
        sh = self.shell
        try:
            outcome = sh.run_cell(code, count, store)
            if outcome.bundle is not None:
                data, md = outcome.bundle
                reply["result"] = {"data": data, "metadata": md}
                if store and sh.mode == "builtin":  # IPython mode: Out holds it (history)
                    self.registry.store(sid, outcome.value, kind="result", ref_id="res:%d" % count,
                                        name="_%d" % count, execution_count=count)
            if outcome.failed:
                reply["status"] = "error"
                if outcome.error is not None:
                    reply["error"] = outcome.error
            if outcome.bundle is not None or outcome.failed:
                self.hold_displays()
            outcome = None
            sh.post_cell()
        except BaseException as e:  # raised outside the cell's own code (an interrupt
            execution.state.running = False  # landing in the shell's bookkeeping)
            shell.set_last_error(e)
            reply["status"] = "error"
            reply["error"] = execution.error_content(e)
        finally:
            self.in_exec = False
            held, self.held = self.held, None
        if held:
            reply["after_result"] = held
        self.namespace.track(count)
        return reply

    def hold_displays(self):
        """From now until the reply, new display outputs travel in the reply's
        after_result: Jupyter shows a cell's result (or error) before the figures
        flushed when the cell ends, and consumers place the result last."""
        if self.held is None:
            self.held = []

    def op_eval(self, req):
        code = req.get("code")
        if not isinstance(code, str):
            raise ProtocolError("eval needs 'code' (a string)")
        conv = refs.Converter(self.registry, self.session_of(req))
        compiled = execution.compile_eval(code)
        loc = req.get("locals")
        if loc is not None:
            if type(loc) is not dict:
                raise ProtocolError("eval 'locals' must be a map")
            loc = conv.resolve(loc)
        return conv.to_wire(execution.user_code(execution.run_code, compiled, self.ns, loc))

    def _args(self, req, conv):
        args = req.get("args") or []
        kwargs = req.get("kwargs") or {}
        if type(args) is not list or type(kwargs) is not dict:
            raise ProtocolError("'args' must be an array and 'kwargs' a map")
        return conv.resolve(args), conv.resolve(kwargs)

    def op_call(self, req):
        mod_name, fn_name = req.get("module"), req.get("fn")
        if not isinstance(mod_name, str) or not isinstance(fn_name, str):
            raise ProtocolError("call needs 'module' and 'fn' (strings)")
        conv = refs.Converter(self.registry, self.session_of(req))
        args, kwargs = self._args(req, conv)

        def run():
            if mod_name == "__main__":
                target = self.namespace.module
            else:
                target = sys.modules.get(mod_name) or importlib.import_module(mod_name)
            for part in fn_name.split("."):
                target = getattr(target, part)
            return target(*args, **kwargs)
        return conv.to_wire(execution.user_code(run))

    def op_method(self, req):
        name = req.get("name")
        if not isinstance(name, str):
            raise ProtocolError("method needs 'name' (a string)")
        conv = refs.Converter(self.registry, self.session_of(req))
        obj = conv.lookup(req.get("ref"))
        args, kwargs = self._args(req, conv)
        return conv.to_wire(execution.user_code(lambda: getattr(obj, name)(*args, **kwargs)))

    def op_attr(self, req):
        name = req.get("name")
        if not isinstance(name, str):
            raise ProtocolError("attr needs 'name' (a string)")
        conv = refs.Converter(self.registry, self.session_of(req))
        obj = conv.lookup(req.get("ref"))
        return conv.to_wire(execution.user_code(getattr, obj, name))

    def op_stats(self, req):
        nrefs, nsessions = self.registry.counts()
        return {"rss_bytes": _rss_bytes(), "gc_counts": list(gc.get_count()),
                "namespace_size": len(self.ns), "refs": nrefs, "sessions": nsessions,
                "execution_count": self.execution_count, "pid": os.getpid(),
                "shell": self.shell.mode,
                "uptime_seconds": time.time() - self.started_at}

    def op_refs_list(self, req):
        sid = req.get("session")
        out = self.registry.list(sid if sid else None)
        if not sid or sid == self.session:
            out.extend(self.namespace.variables(self.session))
            out.extend(self.shell.history(self.session))
        return out

    def op_refs_release(self, req):
        ref = req.get("ref")
        rsid, ref_id = refs.validate_ref(ref)
        sid = rsid or self.session_of(req)
        if req.get("session") and rsid and rsid != req["session"]:
            raise refs.RefError(ErrorCode.SESSION_MISMATCH,
                                "ref '%s' belongs to session '%s', not to session '%s'"
                                % (ref_id, rsid, req["session"]))
        if ref_id.startswith("var:"):
            if sid != self.session:
                return {"released": False}
            obj = self.ns.get(ref_id[4:], _MISSING)
            # Output history entries holding the same object go with it: the memory
            # the user asked to free is freed, not kept alive by Out[N] / _N.
            history = self.shell.release_history_of(obj) if obj is not _MISSING else []
            if obj is not _MISSING:  # held cell results (res:N refs) of the same object too
                history = list(history) + self.registry.release_results_holding(sid, obj)
            released = self.namespace.release(ref_id[4:])
            obj = None
            if history:
                gc.collect()
                return {"released": released, "history_released": history}
            return {"released": released}
        if ref_id.startswith("out:"):
            if sid != self.session:
                return {"released": False}
            released = self.shell.release_history(ref_id[4:])
            if released:
                gc.collect()
            return {"released": released}
        return {"released": self.registry.release_ref(sid, ref_id)}

    def op_refs_stats(self, req):
        return self.registry.stats()

    def op_session_release(self, req):
        sid = req.get("session")
        if not isinstance(sid, str) or not sid:
            raise ProtocolError("session.release needs 'session'")
        count = self.registry.release_session(sid)
        if sid == self.session:
            # The bound session's variables are listed as its refs (Ref Explorer):
            # releasing the session frees them too; the worker stays bound.
            count += self.namespace.release_all() + self.shell.clear_history()
        return {"count": count}

    def op_complete(self, req):
        from . import introspect  # inspect/re/keyword: loaded on first use
        budget = req.get("budget_ms")
        return introspect.complete(self.ns, str(req.get("code") or ""), req.get("cursor"),
                                   budget if isinstance(budget, (int, float)) else None)

    def op_inspect(self, req):
        from . import introspect
        return introspect.inspect_at(self.ns, str(req.get("code") or ""), req.get("cursor"))

    def op_interrupt(self, req):
        execution.interrupt_main()
        return None

    def op_ping(self, req):
        return "pong"

    def op_shutdown(self, req):
        return None


_MISSING = object()


def _hostname():
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        return os.environ.get("COMPUTERNAME", "")


def _error(rid, code, message):
    return {"id": rid, "ok": False, "error": {"code": code, "message": message}}
