"""Capture of fds 1 and 2 as `stream` events.

Fds 1 and 2 become the write ends of pipes, so print, os.write(1, ...), C code and
child processes all land here. One daemon thread waits for data, lets ~5 ms of
output accumulate (or up to _BATCH bytes), then reads everything available and
sends it as few `stream` events as possible. At the end of a request the main
thread calls drain(), which reads what is left synchronously so every stream
event of a request goes out before its reply. The pipe reads and the emission
happen under one lock, so output order within a pipe is exact.

Across the two pipes, order is kept for Python-level writes to sys.stderr
(warnings, logging, tracebacks, tqdm) against everything written to fd 1 before
them: a write to sys.stderr first moves stdout's output (Python's buffer, then the
pipe) into the pending segments, then its own text. stdout writes cost nothing
extra. After _ORDERED_WRITES such writes in one request (a loop alternating the
two streams), the rest of the request is ordered per stream only, as raw fd
writes from C code or child processes always are.

sys.stdout is line-buffered, so a print() reaches the pipe at once and keeps its
place among os.write(1) and child-process output. A flood of prints would then
cost a write system call per line, several times the cost of the loop itself, so
during a flood sys.stdout is switched to block buffering (one write per 64 KiB).
sys.stdout's raw file (_StdoutRaw) sees the flood itself (_FLOOD_LINES line writes
within _FLOOD_WINDOW) and switches at once; the batching thread switches back when
_FLOOD_QUIET_MS pass without output (the buffered tail then goes out), and drain()
at the request's end. Only while a flood lasts may raw fd 1 writes overtake
buffered prints.

During a flood the printing thread sends its 64 KiB blocks itself: they skip the
pipe. Through the pipe they waited for the batching thread, which needs the GIL
while the loop holds it; CPython hands the GIL over only after 5 ms without a
switch, and each 64 KiB write is a switch, so that thread starved until the loop
ended and the whole flood went out after it, at once. Now a flood reaches the pool
while it is printed.
"""

import codecs
import fcntl
import io
import os
import select
try:  # the C module: same functions, without signal.py importing enum (start time)
    import _signal as signal
except ImportError:  # pragma: no cover
    import signal
import sys
import threading
import time

from .protocol import Event

_BATCH = 64 * 1024
_DELAY = 0.005
_F_SETPIPE_SZ = 1031
_UNOWNED_MAX = 1 << 20
_ORDERED_WRITES = 1000
_FLOOD_LINES = 64          # line writes to sys.stdout ...
_FLOOD_WINDOW = 0.002      # ... within this many seconds make a flood (32,000 lines/s)
_FLOOD_QUIET_MS = 20
_CHUNK = 8192  # io.TextIOWrapper's default chunk size


class Capture:
    def __init__(self, send, max_frame_bytes, shield):
        self.send = send            # FrameWriter.send
        self.shield = shield        # no KeyboardInterrupt between reading and sending
        # characters per stream event, so even 4-byte utf-8 text fits in one frame
        self.max_chars = max(256, (max_frame_bytes - 256) // 4)
        self.lock = threading.Lock()
        self.request_id = None      # most recent main-channel request: owner of output
        self.pending = []           # [name, [str...]] segments in arrival order
        self.pending_size = 0
        self.fds = {}
        self.decoders = {}
        self.poller = select.poll()        # the batching thread's
        self.pid = os.getpid()      # a forked child never sends frames (its parent's channel)
        # A flood switched on by the printing thread wakes the batching thread, which may
        # be waiting without a timeout, so it starts watching for the flood's end.
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.poller.register(self.wake_r, select.POLLIN)
        self.drain_poller = select.poll()  # the main thread's (a poll object is single-user)
        self.ordered_rid = None     # request whose ordered stderr writes are being counted
        self.ordered_left = 0
        self.divert = None          # callable(name, text) -> True when it took the text (%%capture)
        self.stdout = None          # the sys.stdout we installed (its buffering follows floods)
        self.flooding = False       # sys.stdout block-buffered for a flood of prints
        self.active = False         # a request runs (begin(), then False): floods never outlive it
        self.run = 0                # counts requests, so a flood is switched on for its own only
        self.mode_lock = threading.Lock()
        self.flood_writes = 0       # blocks the printing thread sent itself (flood still going?)
        self.flood_lines = 0        # line writes to sys.stdout counted towards a flood ...
        self.flood_since = 0.0      # ... since this time.monotonic()

    def install(self):
        """Point fds 1/2 at capture pipes and rebuild sys.stdout/sys.stderr on them."""
        for fd, name in ((1, "stdout"), (2, "stderr")):
            r, w = os.pipe()
            try:
                fcntl.fcntl(w, _F_SETPIPE_SZ, 1 << 20)
            except OSError:
                pass
            os.dup2(w, fd)
            os.close(w)
            os.set_blocking(r, False)
            self.fds[r] = name
            self.decoders[r] = codecs.getincrementaldecoder("utf-8")("replace")
            self.poller.register(r, select.POLLIN)
            self.drain_poller.register(r, select.POLLIN)
        # Line-buffered text streams on the new fds: print() reaches the pipe at
        # each newline, so it stays ordered with os.write(1) and subprocess output.
        for fd, attr, cls in ((1, "stdout", io.TextIOWrapper), (2, "stderr", _OrderedStderr)):
            raw = _StdoutRaw(self) if fd == 1 else io.FileIO(fd, "w", closefd=False)
            stream = cls(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)
            setattr(sys, attr, stream)
            setattr(sys, "__%s__" % attr, stream)
            if fd == 1:
                self.stdout = stream
        sys.stderr._capture = self
        sys.stderr._stdout = sys.stdout
        t = threading.Thread(target=self._run, name="pyctx-capture", daemon=True)
        t.start()

    def begin(self, rid):
        """A request starts: its output belongs to `rid`."""
        self.request_id = rid
        self.run += 1
        self.active = True
        self.flood_lines = 0

    def read_fds(self):
        """{stream name: read-end fd}. The pool reopens these through /proc on Linux,
        so output still in a pipe when the worker dies (a segfault) is not lost."""
        return {name: fd for fd, name in self.fds.items()}

    def ordered(self):
        """May this stderr write still be ordered against stdout (see the docstring)?"""
        if self.ordered_rid != self.request_id:
            self.ordered_rid, self.ordered_left = self.request_id, _ORDERED_WRITES
        self.ordered_left -= 1
        return self.ordered_left >= 0

    def collect(self, name, send=False):
        """Move what is in `name`'s pipe into the pending segments now; with `send`,
        also send them (nothing stays in this process, where a crash would lose it)."""
        with self.shield:
            with self.lock:
                self._read_named(name)
                if send:
                    self._emit()

    def send_flood_block(self, data):
        """A flood's block from sys.stdout, sent by the thread that printed it: first
        what fd 1's pipe holds (raw writes before it), then the block."""
        text = data.decode("utf-8", "replace")
        with self.shield:
            with self.lock:
                self.flood_writes += 1
                self._read_named("stdout")
                self._add("stdout", text, len(data))
                self._emit()

    # -- reading (caller holds self.lock)

    def _read_available(self):
        """Read what the pipes hold (up to 4 MiB); returns the bytes read."""
        budget = total = 4 << 20
        for fd in list(self.fds):
            budget -= self._read_fd(fd, budget)
            if budget <= 0:
                break
        return total - budget

    def _read_named(self, name):
        """Empty `name`'s pipe into the pending segments."""
        for fd, fd_name in list(self.fds.items()):
            if fd_name == name:
                self._read_fd(fd, 4 << 20)

    def _read_fd(self, fd, budget):
        """Read fd until it is empty or `budget` bytes came; returns the bytes read."""
        got = 0
        while got < budget:
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:  # every write end closed (user code closed fd 1/2): stop polling
                self._forget(fd)
                break
            got += len(chunk)
            self._append(fd, chunk)
        return got

    def _forget(self, fd):
        for poller in (self.poller, self.drain_poller):
            try:
                poller.unregister(fd)
            except (KeyError, ValueError):
                pass
        self.fds.pop(fd, None)
        os.close(fd)

    def _append(self, fd, chunk):
        name = self.fds[fd]
        if self.request_id is None and self.pending_size > _UNOWNED_MAX:
            return  # output before the first request (preload): keep the first MiB only
        text = self.decoders[fd].decode(chunk)
        if text:
            self._add(name, text, len(chunk))

    def _add(self, name, text, nbytes):
        """Text for `name` after everything pending (joins the last segment if it is name's)."""
        if self.pending and self.pending[-1][0] == name:
            self.pending[-1][1].append(text)
        else:
            self.pending.append([name, [text]])
        self.pending_size += nbytes

    def _emit(self):
        rid = self.request_id
        if not self.pending or rid is None:
            return  # before the first request output waits for an owner
        segments, self.pending, self.pending_size = self.pending, [], 0
        if self.divert is not None:
            segments = [[name, [text]] for name, text in ((n, "".join(p)) for n, p in segments)
                        if not self.divert(name, text)]
        send = self.send
        step = self.max_chars
        for name, parts in segments:
            text = "".join(parts)
            for i in range(0, len(text), step):
                send({"id": rid, "event": Event.STREAM, "name": name, "text": text[i:i + step]})

    # -- the batching thread

    def _run(self):
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        except (AttributeError, ValueError, OSError):
            pass
        poll = self.poller.poll
        flooding = False
        seen_writes = 0
        while True:
            try:
                ready = poll(_FLOOD_QUIET_MS if self.flooding else None)
            except InterruptedError:
                continue
            if any(fd == self.wake_r for fd, _ in ready):
                try:
                    os.read(self.wake_r, 512)
                except OSError:
                    pass
                if all(fd == self.wake_r for fd, _ in ready):
                    continue
            if not ready:
                if self.flooding:
                    if self.flood_writes != seen_writes:  # still printing (sent by the printer)
                        seen_writes = self.flood_writes
                        continue
                    # the flood is over: line buffering again, its tail goes out
                    self._set_flood(False)
                continue
            if not flooding:
                time.sleep(_DELAY)  # let a burst of small writes become one event
            with self.lock:
                # A full batch last time: output is flooding in, so batching has
                # nothing left to gain and the delay would only cap throughput.
                flooding = self._read_available() >= _BATCH
                self._emit()

    def _set_flood(self, on, run=None):
        """Block (on) or line buffering for our sys.stdout. On: from _StdoutRaw.write,
        inside TextIOWrapper's own write, which has handed its pending text off by then
        (the state the batching thread saw when it switched, at the GIL release of the
        fd write), so reconfigure()'s flush has nothing to write. Off: from the batching
        thread after a quiet spell; a block it flushes is sent, never put in the pipe
        only it drains. The lock is only tried: drain() may hold it."""
        if not self.mode_lock.acquire(False):
            return
        try:
            if self.flooding == on or (on and not (self.active and self.run == run)):
                return
            self.flooding = on
            if on:
                try:
                    os.write(self.wake_w, b"!")
                except OSError:
                    pass  # a wake-up is already pending
            try:
                self.stdout.reconfigure(line_buffering=not on)
                # A flood's writes are 64 KiB; otherwise text without a newline waits for
                # 8 KiB (Python's default), as before.
                self.stdout._CHUNK_SIZE = _BATCH if on else _CHUNK
            except Exception:  # closed or replaced by user code: stay line-buffered
                self.flooding = False
        finally:
            self.mode_lock.release()

    # -- request end (main thread)

    def drain(self):
        """Send everything written so far to fds 1/2 (and Python's buffers)."""
        if "ctypes" in sys.modules:
            _flush_c_stdio()
        # Under mode_lock, so a flood the batching thread is just switching on is seen.
        # Blocking here is safe: that thread only tries the lock, never waits for it.
        with self.mode_lock:
            if self.flooding:
                try:
                    if self.active:  # mid-request (a display, input()): the flood's text goes first
                        self.stdout.flush()
                    else:  # the request's flood ends with it; the next one starts line-buffered
                        self.flooding = False
                        self.stdout.reconfigure(line_buffering=True)
                        self.stdout._CHUNK_SIZE = _CHUNK
                except Exception:
                    pass
        try:
            sys.stdout.flush()
        except Exception:
            pass
        try:
            sys.stderr.flush()
        except Exception:
            pass
        with self.shield:
            with self.lock:
                if self.drain_poller.poll(0):
                    self._read_available()
                if self.pending:
                    self._emit()


class _StdoutRaw(io.FileIO):
    """sys.stdout's raw file: fd 1, as an io.FileIO (whose C `closed`, which
    TextIOWrapper reads on every write, costs far less than a Python raw class's).
    Between floods a write goes to fd 1 at once; it counts line writes to see a flood
    begin; during a flood a block is sent from here (see the docstring)."""

    def __init__(self, capture):
        super().__init__(1, "w", closefd=False)
        self._capture = capture

    def write(self, b):
        cap = self._capture
        if cap.flooding and cap.active and cap.pid == os.getpid():
            cap.send_flood_block(bytes(b))
            return len(b)
        n = len(b)
        view = memoryview(b)
        while view:
            view = view[io.FileIO.write(self, view):]
        if cap.active:  # every _FLOOD_LINES writes: were they a flood?
            cap.flood_lines += 1
            if cap.flood_lines >= _FLOOD_LINES:
                now = time.monotonic()
                if now - cap.flood_since < _FLOOD_WINDOW:
                    cap._set_flood(True, cap.run)
                cap.flood_lines, cap.flood_since = 0, now
        return n


class _OrderedStderr(io.TextIOWrapper):
    """sys.stderr: its writes land after everything fd 1 got before them."""

    _capture = None
    _stdout = None

    def write(self, s):
        cap = self._capture
        if not cap.ordered():
            return io.TextIOWrapper.write(self, s)
        try:
            self._stdout.flush()
        except Exception:
            pass
        cap.collect("stdout")
        n = io.TextIOWrapper.write(self, s)
        self.flush()
        cap.collect("stderr", send=True)
        return n


_libc = None


def _flush_c_stdio():
    """fflush(NULL): C stdio buffers its output to a pipe; printf output from code
    reached through ctypes would otherwise wait for the buffer to fill. Only done
    once ctypes is loaded (then the call is cheap)."""
    global _libc
    try:
        if _libc is None:
            import ctypes
            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except Exception:
        pass
