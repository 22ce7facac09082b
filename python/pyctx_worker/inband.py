"""In-band control for a worker started through a launcher (srun, ssh, kubectl exec).

A launcher forwards stdin/stdout only: there is no fd 3 control socket, and a
signal sent to the launcher does not reach this process (srun answers the first
SIGINT by printing the job's status). So, when PYCTX_INBAND is set, one reader
thread owns stdin:
  - requests carrying CONTROL_MARK are answered at once from that thread, as
    control.py answers fd 3: `interrupt` raises KeyboardInterrupt in the main
    thread, `stats`/`ping` are the pool's heartbeat (a frozen node stops them);
  - every other frame is queued for the main thread, which takes it through the
    same read() a FrameReader has (one thread handoff per request: noise next to
    a launcher's own latency).
EOF on stdin while a cell runs ends the process at once: the launcher is gone.

Under `srun --unbuffered` stdout is a pty; it is put in raw mode so no byte of a
frame is ever translated. User code never writes to it (fds 1/2 are capture pipes).
"""

import os
import threading

from .framing import ChannelClosed, FrameDecodeError, FrameReader, FrameTooLarge
from .protocol import CONTROL_MARK, CONTROL_OPS, INBAND_ENV

try:
    from _queue import SimpleQueue  # C queue: get() is interruptible by SIGINT
except ImportError:  # pragma: no cover
    from queue import SimpleQueue


def enabled():
    return os.environ.get(INBAND_ENV) == "1"


def raw_tty(*fds):
    """Raw mode for any of fds that is a terminal (pty of srun --unbuffered, ssh -t)."""
    for fd in fds:
        try:
            if os.isatty(fd):
                import tty
                tty.setraw(fd)
        except Exception:  # not fatal: the frames are checked on the pool's side anyway
            pass


def enter_cwd(path):
    """chdir to the notebook's folder; a one-line warning when this node lacks it."""
    try:
        os.chdir(path)
        return None
    except OSError as e:
        return ("[pyctx] the notebook's folder %s is not available on node %s (%s); "
                "this worker runs in %s\n" % (path, os.uname().nodename,
                                                e.strerror or e, os.getcwd()))


class InBandReader:
    """The main thread's request source: frames the reader thread queued."""

    def __init__(self, worker, fd):
        self.worker = worker
        self.fd = fd
        self.queue = SimpleQueue()
        self.peeked = None
        self.thread = threading.Thread(target=self._serve, name="pyctx-inband", daemon=True)

    def read(self):
        item = self.peeked
        if item is None:
            item = self.queue.get()
        else:
            self.peeked = None
        if isinstance(item, BaseException):
            raise item
        return item

    def wait_frame(self):
        """Block (interruptibly) until the next frame is here; read() then returns it."""
        if self.peeked is None:
            self.peeked = self.queue.get()

    def _serve(self):
        from . import control
        try:
            from _signal import SIG_BLOCK, SIGINT, pthread_sigmask
            pthread_sigmask(SIG_BLOCK, {SIGINT})  # signals go to the main thread
        except (ImportError, AttributeError, ValueError, OSError):
            pass
        reader = FrameReader(self.fd, self.worker.max_bytes)
        send = self.worker.writer.send
        put = self.queue.put
        while True:
            try:
                req = reader.read()
            except (FrameTooLarge, FrameDecodeError) as e:
                put(e)
                continue
            except (ChannelClosed, OSError):
                if self.worker.busy:
                    os._exit(0)  # a long cell would not notice: the launcher is gone
                put(ChannelClosed())
                return
            if type(req) is dict and req.get(CONTROL_MARK) is True and req.get("op") in CONTROL_OPS:
                send(control.answer(self.worker, req))
            else:
                put(req)


def start(worker):
    """Take over the worker's stdin; returns the reader its main loop uses."""
    raw_tty(worker.in_fd, worker.out_fd)
    r = InBandReader(worker, worker.in_fd)
    r.thread.start()
    return r

