"""Frame I/O on a raw fd: 4-byte big-endian length + one msgpack map.

FrameReader reads with raw os.read into its own buffer (one syscall usually
brings a whole small request). A header announcing more than the maximum is
refused at once as FrameTooLarge: the body is neither allocated nor read (a
parent that sends one is broken, so the worker reports it and exits instead of
reading and discarding up to 4 GiB).
FrameWriter serialises whole frames under one lock, so frames written by the
capture thread and the main thread never interleave.
"""

import os
import threading

from . import codec
from .protocol import ErrorCode, Event

_CHUNK = 1 << 16
# Exit status after a fatal protocol error (sysexits EX_PROTOCOL).
EXIT_PROTOCOL_ERROR = 76


class FrameTooLarge(Exception):
    """A header over the maximum: the stream can no longer be trusted (fatal)."""

    def __init__(self, size, limit):
        super().__init__("frame header announces %d bytes, over the maximum of %d bytes"
                         " (PYCTX_MAX_FRAME_BYTES); the stream is out of step" % (size, limit))
        self.size = size
        self.limit = limit


class FrameDecodeError(Exception):
    """Payload could not be decoded; the stream itself is still in sync."""


class ChannelClosed(Exception):
    pass


class FrameReader:
    def __init__(self, fd, max_bytes):
        self.fd = fd
        self.max_bytes = max_bytes
        self.buf = bytearray()

    def _fill(self, need):
        """Make self.buf hold at least `need` bytes."""
        buf = self.buf
        while len(buf) < need:
            chunk = os.read(self.fd, max(_CHUNK, need - len(buf)))
            if not chunk:
                raise ChannelClosed()
            buf += chunk

    def read(self):
        """Next decoded frame. Raises FrameTooLarge / FrameDecodeError / ChannelClosed."""
        buf = self.buf
        if len(buf) < 4:
            self._fill(4)
            buf = self.buf
        n = int.from_bytes(buf[:4], "big")
        if n > self.max_bytes:
            raise FrameTooLarge(n, self.max_bytes)
        if len(buf) < 4 + n:
            self._fill(4 + n)
            buf = self.buf
        payload = bytes(buf[4:4 + n])
        del buf[:4 + n]
        try:
            return codec.unpackb(payload)
        except codec.CodecError as e:
            raise FrameDecodeError(str(e))
        except Exception as e:  # pragma: no cover - defensive
            raise FrameDecodeError("%s: %s" % (type(e).__name__, e))


class FrameWriter:
    def __init__(self, fd, max_bytes, shield=None):
        self.fd = fd
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.shield = shield  # defers KeyboardInterrupt while a frame is half written
        self.broken = False

    def encode(self, msg):
        """Frame bytes for msg; an oversize or unencodable reply becomes an error reply."""
        try:
            payload = codec.packb(msg)
        except codec.CodecError as e:
            payload = codec.packb(_error_for(msg, ErrorCode.PROTOCOL_ERROR,
                                             "reply could not be encoded: %s" % e))
        if len(payload) > self.max_bytes:
            payload = codec.packb(_error_for(
                msg, ErrorCode.FRAME_TOO_LARGE,
                "outgoing frame of %d bytes exceeds the maximum of %d bytes"
                % (len(payload), self.max_bytes)))
        return len(payload).to_bytes(4, "big") + payload

    def send(self, msg):
        data = self.encode(msg)
        if self.shield is None:
            with self.lock:
                self._write(data)
            return
        with self.shield:
            with self.lock:
                self._write(data)

    def _write(self, data):
        if self.broken:
            return
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
        except (BrokenPipeError, OSError):
            self.broken = True


def _error_for(msg, code, message):
    """Replace a reply by an error reply for the same id; an event by a stderr note."""
    if "event" in msg:
        return {"id": msg.get("id"), "event": Event.STREAM, "name": "stderr",
                "text": "[pyctx] %s event dropped: %s\n" % (msg.get("event"), message)}
    return {"id": msg.get("id"), "ok": False, "error": {"code": code, "message": message}}
