"""Test driver for a real worker process over the real framing (not a test module).

Spawns the worker the way the pool does (python -c bootstrap, sys.executable of
the test run so both codec paths are exercised), with a socketpair as fd 3 for
the control channel. request() collects the events of a request until its reply.
"""

import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_DIR = os.path.join(ROOT, "python")
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)

from pyctx_worker import codec  # noqa: E402

BOOTSTRAP = ("import sys; sys.path.append(%r); from pyctx_worker.__main__ import main; main()"
             % PYTHON_DIR)


class WorkerProc:
    def __init__(self, env=None, control=True, python=None, args=None):
        full_env = dict(os.environ)
        full_env.pop("PYCTX_PRELOAD", None)
        # The built-in layer unless a test asks for IPython (test_ipython_shell.py):
        # these tests pin its behaviour on both interpreters.
        full_env["PYCTX_IPYTHON"] = "off"
        full_env.update(env or {})
        self.ctl_sock = None
        preexec = None
        pass_fds = ()
        if control:
            self.ctl_sock, child = socket.socketpair()
            child_fd = child.fileno()

            def preexec():
                os.dup2(child_fd, 3)
            pass_fds = (3,)
        argv = [python or sys.executable] + (args or ["-c", BOOTSTRAP])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env,
                                     preexec_fn=preexec, pass_fds=pass_fds, bufsize=0)
        if control:
            child.close()
        self.buf = b""
        self.ctl_buf = b""
        self.next_id = 1

    # -- raw framing

    def send(self, msg):
        payload = codec.packb(msg)
        self.proc.stdin.write(struct.pack(">I", len(payload)) + payload)

    def send_raw(self, data):
        self.proc.stdin.write(data)

    def _read_frame(self, fd, attr, timeout):
        deadline = time.monotonic() + timeout
        while True:
            buf = getattr(self, attr)
            if len(buf) >= 4:
                n = struct.unpack(">I", buf[:4])[0]
                if len(buf) >= 4 + n:
                    setattr(self, attr, buf[4 + n:])
                    return codec.unpackb(buf[4:4 + n])
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame within %ss" % timeout)
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise EOFError("worker closed the channel (rc=%s, stderr=%r)"
                                   % (self.proc.poll(), self.stderr_tail()))
                setattr(self, attr, buf + chunk)

    def recv(self, timeout=20):
        return self._read_frame(self.proc.stdout.fileno(), "buf", timeout)

    def stderr_tail(self):
        try:
            r, _, _ = select.select([self.proc.stderr], [], [], 0)
            return os.read(self.proc.stderr.fileno(), 65536) if r else b""
        except Exception:
            return b""

    # -- requests

    def start(self, op, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "op": op}
        msg.update(fields)
        self.send(msg)
        return rid

    def collect(self, rid, timeout=20, on_event=None):
        events = []
        while True:
            m = self.recv(timeout)
            if "event" in m:
                events.append(m)
                if on_event:
                    on_event(m)
                continue
            if m.get("id") == rid:
                return events, m
            events.append(m)  # unrelated reply (kept for inspection)

    def request(self, op, timeout=20, **fields):
        rid = self.start(op, **fields)
        return self.collect(rid, timeout)

    def value(self, op, **fields):
        """Value of an ok reply (asserts ok)."""
        _, reply = self.request(op, **fields)
        if not reply.get("ok"):
            raise AssertionError("request %s failed: %r" % (op, reply))
        return reply["value"]

    def exec(self, code, **fields):
        events, reply = self.request("exec", code=code, **fields)
        assert reply.get("ok"), reply
        return events, reply["value"]

    def ctl(self, op, timeout=20, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "op": op}
        msg.update(fields)
        payload = codec.packb(msg)
        self.ctl_sock.sendall(struct.pack(">I", len(payload)) + payload)
        while True:
            m = self._read_frame(self.ctl_sock.fileno(), "ctl_buf", timeout)
            if m.get("id") == rid:
                return m

    def interrupt(self):
        os.kill(self.proc.pid, signal.SIGINT)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass
        if self.ctl_sock is not None:
            self.ctl_sock.close()


def stream_text(events, name="stdout"):
    return "".join(e["text"] for e in events if e.get("event") == "stream" and e["name"] == name)


class WorkerTestCase(unittest.TestCase):
    """One real worker per test class (WORKER_ENV: extra environment), closed after it."""

    WORKER_ENV = None

    @classmethod
    def setUpClass(cls):
        cls.w = WorkerProc(env=cls.WORKER_ENV) if cls.WORKER_ENV else WorkerProc()

    @classmethod
    def tearDownClass(cls):
        cls.w.close()
