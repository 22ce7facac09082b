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


_str_cache = {}  # short str -> its encoding (map keys and names repeat a lot)


def _enc_str(obj):
    b = obj.encode("utf-8")
    n = len(b)
    if n < 32:
        b = bytes((0xA0 | n,)) + b
        if len(_str_cache) < 4096:
            _str_cache[obj] = b
        return b
    if n < 0x100:
        return b"\xd9" + _pack_B(n) + b
    if n < 0x10000:
        return b"\xda" + _pack_H(n) + b
    return b"\xdb" + _pack_I(n) + b


def _enc(obj, out, depth):
    t = type(obj)
    if t is str:
        b = _str_cache.get(obj)
        out.append(b if b is not None else _enc_str(obj))
    elif t is int:
        if 0 <= obj < 0x80:
            out.append(_SMALL_INTS[obj])
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
            out.append(_FIXMAP[n])
        elif n < 0x10000:
            out.append(b"\xde" + _pack_H(n))
        else:
            out.append(b"\xdf" + _pack_I(n))
        cache = _str_cache
        append = out.append
        depth += 1
        for k, v in obj.items():
            if type(k) is str:
                b = cache.get(k)
                append(b if b is not None else _enc_str(k))
            else:
                _enc(k, out, depth)
            tv = type(v)
            if tv is str and len(v) < 32:
                b = cache.get(v)
                append(b if b is not None else _enc_str(v))
            elif tv is int and 0 <= v < 0x80:
                append(_SMALL_INTS[v])
            else:
                _enc(v, out, depth)
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
        depth += 1
        for v in obj:
            _enc(v, out, depth)
    elif t is bytes or t is bytearray or t is memoryview:
        n = len(obj) if t is not memoryview else obj.nbytes
        if n < 0x100:
            out.append(b"\xc4" + _pack_B(n))
        elif n < 0x10000:
            out.append(b"\xc5" + _pack_H(n))
        else:
            out.append(b"\xc6" + _pack_I(n))
        out.append(bytes(obj))
    elif t is Prepacked:
        if obj.packed is None:
            parts = []
            _enc(dict(obj), parts, depth)
            obj.packed = b"".join(parts)
        out.append(obj.packed)
    elif isinstance(obj, (str, int, float, dict, list, tuple, bytes)):
        # Subclasses (IntEnum, OrderedDict, namedtuple...) travel as their base type.
        for base in (bool, int, float, str, bytes, dict, list, tuple):
            if isinstance(obj, base):
                _enc(base(obj) if base is not dict else dict(obj), out, depth)
                return
    else:
        raise CodecError("cannot encode %s" % t.__name__)


_SMALL_INTS = [bytes((i,)) for i in range(0x80)]
_FIXMAP = [bytes((0x80 | i,)) for i in range(16)]


class Prepacked(dict):
    """A dict that never changes once sent, so the pure codec caches its encoding
    (refs.list sends thousands of unchanged variable entries). The C codec packs it
    like any dict."""
    __slots__ = ("packed",)

    def __init__(self, *args, **kwargs):
        dict.__init__(self, *args, **kwargs)
        self.packed = None


def pure_packb(obj):
    out = []
    _enc(obj, out, 0)
    return b"".join(out)


# ---------------------------------------------------------------- pure decoder

_unpack_from = struct.unpack_from
_EXT = frozenset((0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8))
# fixed-width scalars: type byte -> (struct format, size)
_FIXED = {0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8),
          0xD0: (">b", 1), 0xD1: (">h", 2), 0xD2: (">i", 4), 0xD3: (">q", 8),
          0xCA: (">f", 4), 0xCB: (">d", 8)}
# variable-length: type byte -> (length format, length size, kind)
_SIZED = {0xD9: (">B", 1, 0), 0xDA: (">H", 2, 0), 0xDB: (">I", 4, 0),
          0xC4: (">B", 1, 1), 0xC5: (">H", 2, 1), 0xC6: (">I", 4, 1),
          0xDC: (">H", 2, 2), 0xDD: (">I", 4, 2), 0xDE: (">H", 2, 3), 0xDF: (">I", 4, 3)}


def _decode(data, pos, depth):
    """(value, next position). Written for speed: this runs on every request."""
    b = data[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if b >= 0xA0:
        if b < 0xC0:
            end = pos + (b & 0x1F)
            if end > len(data):
                raise CodecError("truncated msgpack payload")
            return data[pos:end].decode("utf-8"), end
        if b == 0xC0:
            return None, pos
        if b == 0xC2:
            return False, pos
        if b == 0xC3:
            return True, pos
        fixed = _FIXED.get(b)
        if fixed is not None:
            return _unpack_from(fixed[0], data, pos)[0], pos + fixed[1]
        sized = _SIZED.get(b)
        if sized is None:
            if b in _EXT:
                raise CodecError("msgpack extension types are not accepted")
            raise CodecError("invalid msgpack type byte 0x%02x" % b)
        n = _unpack_from(sized[0], data, pos)[0]
        pos += sized[1]
        kind = sized[2]
        if kind < 2:
            end = pos + n
            if end > len(data):
                raise CodecError("truncated msgpack payload")
            chunk = data[pos:end]
            return (chunk.decode("utf-8") if kind == 0 else chunk), end
        if kind == 2:
            return _array(data, pos, n, depth)
        return _map(data, pos, n, depth)
    if b >= 0x90:
        return _array(data, pos, b & 0x0F, depth)
    return _map(data, pos, b & 0x0F, depth)


def _array(data, pos, n, depth):
    if depth > 512:
        raise CodecError("nesting too deep")
    out = []
    append = out.append
    for _ in range(n):
        v, pos = _decode(data, pos, depth + 1)
        append(v)
    return out, pos


def _map(data, pos, n, depth):
    if depth > 512:
        raise CodecError("nesting too deep")
    d = {}
    for _ in range(n):
        b = data[pos]
        if 0xA0 <= b < 0xC0:  # fixstr key: the common case, decoded inline
            end = pos + 1 + (b & 0x1F)
            if end > len(data):
                raise CodecError("truncated msgpack payload")
            k = data[pos + 1:end].decode("utf-8")
            pos = end
        else:
            k, pos = _decode(data, pos, depth + 1)
        b = data[pos]
        if b < 0x80:
            v = b
            pos += 1
        else:
            v, pos = _decode(data, pos, depth + 1)
        try:
            d[k] = v
        except TypeError:
            raise CodecError("unhashable map key")
    return d, pos


def pure_unpackb(data):
    if type(data) is not bytes:
        data = bytes(data)
    try:
        v, pos = _decode(data, 0, 0)
    except CodecError:
        raise
    except (IndexError, struct.error):
        raise CodecError("truncated msgpack payload")
    except UnicodeDecodeError as e:
        raise CodecError("invalid utf-8 in str: %s" % e)
    except RecursionError:
        raise CodecError("nesting too deep")
    if pos != len(data):
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
