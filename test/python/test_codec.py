"""Codec tests: the pure-Python msgpack codec, and cross-compatibility with C msgpack."""

import struct
import unittest

import wclient  # noqa: F401  (puts python/ on sys.path)
from pyctx_worker import codec

try:
    import msgpack
except ImportError:
    msgpack = None

SAMPLES = [
    None, True, False, 0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63,
    0.0, 1.5, -2.25, 1e300, "", "a", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 70000,
    "héllo ☃ 🐍", b"", b"\x00\xff", b"b" * 300, b"c" * 70000,
    [], [1, [2, [3]]], list(range(20)), list(range(70000)),
    {}, {"a": 1}, {str(i): i for i in range(20)}, {1: "int key"},
    {"nested": {"list": [1, "two", 3.0, None, b"4"], "map": {"k": [True, False]}}},
]


class PureCodecTest(unittest.TestCase):
    def test_roundtrip(self):
        for v in SAMPLES:
            self.assertEqual(codec.pure_unpackb(codec.pure_packb(v)), v, repr(v)[:60])

    def test_tuple_encodes_as_array(self):
        self.assertEqual(codec.pure_unpackb(codec.pure_packb((1, (2, 3)))), [1, [2, 3]])

    def test_float32_decodes(self):
        self.assertEqual(codec.pure_unpackb(b"\xca" + struct.pack(">f", 1.5)), 1.5)

    def test_int_out_of_range_rejected(self):
        with self.assertRaises(codec.CodecError):
            codec.pure_packb(2**64)
        with self.assertRaises(codec.CodecError):
            codec.pure_packb(-2**63 - 1)

    def test_unknown_type_rejected(self):
        with self.assertRaises(codec.CodecError):
            codec.pure_packb({"x": object()})

    def test_ext_rejected(self):
        for data in (b"\xd4\x01\x00", b"\xc7\x01\x05\x00", b"\xd6\xff\x00\x00\x00\x00"):
            with self.assertRaises(codec.CodecError):
                codec.pure_unpackb(data)

    def test_truncated_and_garbage_rejected(self):
        for data in (b"", b"\x92\x01", b"\xda\x00\x05ab", b"\xc1", b"\x01\x02",
                     b"\xa2\xff\xfe"):
            with self.assertRaises(codec.CodecError, msg=repr(data)):
                codec.pure_unpackb(data)

    def test_subclasses_encode_as_base(self):
        import collections
        import enum

        class Color(enum.IntEnum):
            RED = 1
        P = collections.namedtuple("P", "x y")
        self.assertEqual(codec.pure_unpackb(codec.pure_packb(
            [Color.RED, P(1, 2), collections.OrderedDict(a=1)])), [1, [1, 2], {"a": 1}])

    def test_active_codec_name(self):
        self.assertEqual(codec.CODEC_NAME, "msgpack-c" if msgpack else "pure")


@unittest.skipIf(msgpack is None, "C msgpack not installed for this interpreter")
class CrossCompatTest(unittest.TestCase):
    def test_pure_encode_c_decode(self):
        for v in SAMPLES:
            got = msgpack.unpackb(codec.pure_packb(v), raw=False, strict_map_key=False)
            self.assertEqual(got, v, repr(v)[:60])

    def test_c_encode_pure_decode(self):
        for v in SAMPLES:
            self.assertEqual(codec.pure_unpackb(msgpack.packb(v, use_bin_type=True)), v,
                             repr(v)[:60])

    def test_c_float32_and_ext_handling(self):
        self.assertAlmostEqual(codec.pure_unpackb(msgpack.packb(1.25, use_single_float=True)),
                               1.25)
        with self.assertRaises(codec.CodecError):
            codec.unpackb(msgpack.packb(msgpack.ExtType(5, b"x")))

    def test_active_codec_errors_are_codec_errors(self):
        with self.assertRaises(codec.CodecError):
            codec.packb({"x": object()})
        with self.assertRaises(codec.CodecError):
            codec.unpackb(b"\x92\x01")


if __name__ == "__main__":
    unittest.main()
