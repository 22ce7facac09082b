"""Control channel: a daemon thread serving CONTROL_OPS on fd 3 while cells run.

Same framing as the main channel, its own writer (and lock). Handlers read
shared state: the ref registry has its own lock, the namespace is read through
snapshots (list(dict.items()) is atomic under the GIL). SIGINT is blocked in
this thread so the kernel delivers it to the main thread.
"""

import os
try:  # the C module: same functions, without signal.py importing enum (start time)
    import _signal as signal
except ImportError:  # pragma: no cover
    import signal
import threading

from .framing import (EXIT_PROTOCOL_ERROR, ChannelClosed, FrameDecodeError, FrameReader, FrameTooLarge,
                      FrameWriter)
from .protocol import CONTROL_OPS, ErrorCode
from .refs import RefError


def _serve(worker, fd):
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, ValueError, OSError):
        pass
    reader = FrameReader(fd, worker.max_bytes)
    writer = FrameWriter(fd, worker.max_bytes)
    while True:
        try:
            req = reader.read()
        except FrameTooLarge as e:
            # Fatal, as on the main channel (worker.serve): report and exit.
            writer.send({"id": None, "ok": False, "error": {
                "code": ErrorCode.PROTOCOL_ERROR, "message": str(e)}})
            worker.diag("protocol error on the control channel, exiting: %s" % e)
            worker._real_exit(EXIT_PROTOCOL_ERROR)
        except FrameDecodeError as e:
            writer.send({"id": None, "ok": False, "error": {
                "code": ErrorCode.PROTOCOL_ERROR, "message": "undecodable frame: %s" % e}})
            continue
        except ChannelClosed:
            # The pool never closes this channel: EOF means the parent died. A
            # busy main thread (a long cell) would not notice its own EOF until
            # the cell ends, so leave now instead of running on as an orphan.
            os._exit(0)
        except OSError:
            return
        if type(req) is not dict:
            writer.send({"id": None, "ok": False, "error": {
                "code": ErrorCode.PROTOCOL_ERROR, "message": "a request must be a map"}})
            continue
        writer.send(answer(worker, req))


def answer(worker, req):
    """The reply to one control request (also used by inband.py under a launcher)."""
    rid = req.get("id")
    op = req.get("op")
    if op not in CONTROL_OPS:
        return {"id": rid, "ok": False, "error": {
            "code": ErrorCode.PROTOCOL_ERROR,
            "message": "op %r is not served on the control channel" % (op,)}}
    try:
        return {"id": rid, "ok": True, "value": worker.handlers[op](req)}
    except RefError as e:
        return {"id": rid, "ok": False, "error": e.wire()}
    except Exception as e:
        return {"id": rid, "ok": False, "error": {
            "code": ErrorCode.PYTHON_ERROR, "message": "%s: %s" % (type(e).__name__, e),
            "ename": type(e).__name__, "evalue": str(e), "traceback": []}}


def start(worker, fd):
    t = threading.Thread(target=_serve, args=(worker, fd), name="pyctx-control", daemon=True)
    t.start()
    return t
