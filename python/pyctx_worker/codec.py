"""MessagePack codec for frame payloads: the C `msgpack` package when importable,
otherwise the small pure-Python codec below (standard library only).

Both sides speak plain msgpack: nil, bool, ints up to 64 bits, float32/64 (decode;
floats are always encoded as float64), str, bin, array, map. Tuples encode as
arrays. Extension types are rejected with CodecError, never passed through.
Set PYCTX_CODEC=pure to force the pure codec (tests use it for cross-checks).
"""

import os
import struct


class CodecError(ValueError):
    """The payload is not msgpack we accept (truncated, ext type, bad utf-8...)."""


# ---------------------------------------------------------------- pure encoder

_pack_B = struct.Struct(">B").pack
_pack_H = struct.Struct(">H").pack
_pack_I = struct.Struct(">I").pack
_pack_Q = struct.Struct(">Q").pack
_pack_b = struct.Struct(">b").pack
_pack_h = struct.Struct(">h").pack
_pack_i = struct.Struct(">i").pack
_pack_q = struct.Struct(">q").pack
_pack_d = struct.Struct(">d").pack


def _enc(obj, out, depth):
    t = type(obj)
    if t is str:
        b = obj.encode("utf-8")
        n = len(b)
        if n < 32:
            out.append(bytes((0xA0 | n,)))
        elif n < 0x100:
            out.append(b"\xd9" + _pack_B(n))
        elif n < 0x10000:
            out.append(b"\xda" + _pack_H(n))
        else:
            out.append(b"\xdb" + _pack_I(n))
        out.append(b)
    elif t is int:
        if 0 <= obj < 0x80:
            out.append(bytes((obj,)))
        elif -32 <= obj < 0:
            out.append(bytes((obj & 0xFF,)))
        elif obj >= 0:
            if obj < 0x100:
                out.append(b"\xcc" + _pack_B(obj))
            elif obj < 0x10000:
                out.append(b"\xcd" + _pack_H(obj))
            elif obj < 0x100000000:
                out.append(b"\xce" + _pack_I(obj))
            elif obj < 0x10000000000000000:
                out.append(b"\xcf" + _pack_Q(obj))
            else:
                raise CodecError("int too large for msgpack: %d" % obj)
        else:
            if obj >= -0x80:
                out.append(b"\xd0" + _pack_b(obj))
            elif obj >= -0x8000:
                out.append(b"\xd1" + _pack_h(obj))
            elif obj >= -0x80000000:
                out.append(b"\xd2" + _pack_i(obj))
            elif obj >= -0x8000000000000000:
                out.append(b"\xd3" + _pack_q(obj))
            else:
                raise CodecError("int too small for msgpack: %d" % obj)
    elif obj is None:
        out.append(b"\xc0")
    elif t is bool:
        out.append(b"\xc3" if obj else b"\xc2")
    elif t is float:
        out.append(b"\xcb" + _pack_d(obj))
    elif t is dict:
        if depth > 512:
            raise CodecError("nesting too deep")
        n = len(obj)
        if n < 16:
            out.append(bytes((0x80 | n,)))
        elif n < 0x10000:
            out.append(b"\xde" + _pack_H(n))
        else:
            out.append(b"\xdf" + _pack_I(n))
        for k, v in obj.items():
            _enc(k, out, depth + 1)
            _enc(v, out, depth + 1)
    elif t is list or t is tuple:
        if depth > 512:
            raise CodecError("nesting too deep")
        n = len(obj)
        if n < 16:
            out.append(bytes((0x90 | n,)))
        elif n < 0x10000:
            out.append(b"\xdc" + _pack_H(n))
        else:
            out.append(b"\xdd" + _pack_I(n))
        for v in obj:
            _enc(v, out, depth + 1)
    elif t is bytes or t is bytearray or t is memoryview:
        n = len(obj) if t is not memoryview else obj.nbytes
        if n < 0x100:
            out.append(b"\xc4" + _pack_B(n))
        elif n < 0x10000:
            out.append(b"\xc5" + _pack_H(n))
        else:
            out.append(b"\xc6" + _pack_I(n))
        out.append(bytes(obj))
    elif isinstance(obj, (str, int, float, dict, list, tuple, bytes)):
        # Subclasses (IntEnum, OrderedDict, namedtuple...) travel as their base type.
        for base in (bool, int, float, str, bytes, dict, list, tuple):
            if isinstance(obj, base):
                _enc(base(obj) if base is not dict else dict(obj), out, depth)
                return
    else:
        raise CodecError("cannot encode %s" % t.__name__)


def pure_packb(obj):
    out = []
    _enc(obj, out, 0)
    return b"".join(out)


# ---------------------------------------------------------------- pure decoder

_unpack_from = struct.unpack_from


class _Decoder:
    __slots__ = ("data", "pos")

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        p = self.pos
        end = p + n
        if end > len(self.data):
            raise CodecError("truncated msgpack payload")
        self.pos = end
        return self.data[p:end]

    def num(self, fmt, size):
        p = self.pos
        if p + size > len(self.data):
            raise CodecError("truncated msgpack payload")
        self.pos = p + size
        return _unpack_from(fmt, self.data, p)[0]

    def text(self, n):
        try:
            return bytes(self.take(n)).decode("utf-8")
        except UnicodeDecodeError as e:
            raise CodecError("invalid utf-8 in str: %s" % e)

    def array(self, n, depth):
        return [self.value(depth + 1) for _ in range(n)]

    def map(self, n, depth):
        d = {}
        for _ in range(n):
            k = self.value(depth + 1)
            try:
                d[k] = self.value(depth + 1)
            except TypeError:
                raise CodecError("unhashable map key")
        return d

    def value(self, depth=0):
        if depth > 512:
            raise CodecError("nesting too deep")
        data = self.data
        p = self.pos
        if p >= len(data):
            raise CodecError("truncated msgpack payload")
        b = data[p]
        self.pos = p + 1
        if b < 0x80:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0xA0 <= b <= 0xBF:
            return self.text(b & 0x1F)
        if 0x90 <= b <= 0x9F:
            return self.array(b & 0x0F, depth)
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F, depth)
        if b == 0xC0:
            return None
        if b == 0xC2:
            return False
        if b == 0xC3:
            return True
        if b == 0xCC:
            return self.num(">B", 1)
        if b == 0xCD:
            return self.num(">H", 2)
        if b == 0xCE:
            return self.num(">I", 4)
        if b == 0xCF:
            return self.num(">Q", 8)
        if b == 0xD0:
            return self.num(">b", 1)
        if b == 0xD1:
            return self.num(">h", 2)
        if b == 0xD2:
            return self.num(">i", 4)
        if b == 0xD3:
            return self.num(">q", 8)
        if b == 0xCA:
            return self.num(">f", 4)
        if b == 0xCB:
            return self.num(">d", 8)
        if b == 0xD9:
            return self.text(self.num(">B", 1))
        if b == 0xDA:
            return self.text(self.num(">H", 2))
        if b == 0xDB:
            return self.text(self.num(">I", 4))
        if b == 0xC4:
            return bytes(self.take(self.num(">B", 1)))
        if b == 0xC5:
            return bytes(self.take(self.num(">H", 2)))
        if b == 0xC6:
            return bytes(self.take(self.num(">I", 4)))
        if b == 0xDC:
            return self.array(self.num(">H", 2), depth)
        if b == 0xDD:
            return self.array(self.num(">I", 4), depth)
        if b == 0xDE:
            return self.map(self.num(">H", 2), depth)
        if b == 0xDF:
            return self.map(self.num(">I", 4), depth)
        if b in (0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8):
            raise CodecError("msgpack extension types are not accepted")
        raise CodecError("invalid msgpack type byte 0x%02x" % b)


def pure_unpackb(data):
    d = _Decoder(data)
    v = d.value()
    if d.pos != len(data):
        raise CodecError("trailing bytes after msgpack value")
    return v


# ---------------------------------------------------------------- C msgpack

def _reject_ext(code, data):
    raise CodecError("msgpack extension types are not accepted (ext %d)" % code)


def _load_c():
    if os.environ.get("PYCTX_CODEC") == "pure":
        return None
    try:
        import msgpack  # noqa: WPS433 (optional accelerator)
    except ImportError:
        return None
    raw_packb = msgpack.packb  # a Packer per call: Packer objects are not thread-safe
    raw_unpackb = msgpack.unpackb

    def c_packb(obj):
        try:
            return raw_packb(obj, use_bin_type=True)
        except (TypeError, OverflowError, ValueError) as e:
            raise CodecError(str(e))

    def c_unpackb(data):
        try:
            return raw_unpackb(data, raw=False, strict_map_key=False, ext_hook=_reject_ext,
                               use_list=True)
        except CodecError:
            raise
        except Exception as e:  # ExtraData, FormatError, StackError, UnicodeDecodeError...
            raise CodecError("%s: %s" % (type(e).__name__, e))

    return c_packb, c_unpackb


_c = _load_c()
if _c is not None:
    packb, unpackb = _c
    CODEC_NAME = "msgpack-c"
else:
    packb, unpackb = pure_packb, pure_unpackb
    CODEC_NAME = "pure"
