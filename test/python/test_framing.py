"""Frame limits and bad frames: clear errors, and the worker keeps serving; a header
over the maximum is the exception: fatal at once (protocol error, exit 76)."""

import struct
import unittest

from wclient import WorkerProc, codec, stream_text

LIMIT = 4096


class FramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = WorkerProc(env={"PYCTX_MAX_FRAME_BYTES": str(LIMIT)})

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def assertAlive(self):
        self.assertEqual(self.w.value("eval", code="1+1"), 2)

    def test_outgoing_reply_too_large(self):
        _, reply = self.w.request("eval", code="'y' * %d" % (LIMIT * 2))
        self.assertFalse(reply["ok"])
        self.assertEqual(reply["error"]["code"], "frame_too_large")
        self.assertAlive()

    def test_huge_stream_output_is_split_into_frames_under_the_limit(self):
        events, r = self.w.exec("print('z' * %d)" % (LIMIT * 3))
        self.assertEqual(r["status"], "ok")
        self.assertEqual(stream_text(events), "z" * (LIMIT * 3) + "\n")
        self.assertGreater(len(events), 3)
        self.assertAlive()

    def test_oversize_display_event_becomes_a_note(self):
        events, r = self.w.exec("display({'text/plain': 'q' * %d}, raw=True)" % (LIMIT * 2))
        self.assertEqual(r["status"], "ok")
        self.assertIn("exceeds the maximum", "".join(e.get("text", "") for e in events))

    def test_configure_paths_must_be_strings(self):
        before = self.w.value("eval", code="__import__('os').getcwd()")
        for key in ("cwd", "sys_path0"):
            _, reply = self.w.request("configure", **{key: 12345})
            self.assertFalse(reply["ok"])
            self.assertEqual(reply["error"]["code"], "protocol_error")
            self.assertIn("must be a string path", reply["error"]["message"])
        self.assertEqual(self.w.value("eval", code="__import__('os').getcwd()"), before)

    def test_undecodable_payload(self):
        payload = b"\xc1\xc1\xc1"
        self.w.send_raw(struct.pack(">I", len(payload)) + payload)
        reply = self.w.recv()
        self.assertEqual((reply["id"], reply["error"]["code"]), (None, "protocol_error"))
        self.assertAlive()

    def test_ext_type_payload(self):
        payload = b"\x81\xa2id\xd4\x01\x00"
        self.w.send_raw(struct.pack(">I", len(payload)) + payload)
        self.assertEqual(self.w.recv()["error"]["code"], "protocol_error")
        self.assertAlive()

    def test_not_a_map(self):
        payload = codec.packb([1, 2, 3])
        self.w.send_raw(struct.pack(">I", len(payload)) + payload)
        self.assertEqual(self.w.recv()["error"]["code"], "protocol_error")
        self.assertAlive()

    def test_unknown_op_and_bad_fields(self):
        _, reply = self.w.request("frobnicate")
        self.assertEqual(reply["error"]["code"], "protocol_error")
        self.assertIn("frobnicate", reply["error"]["message"])
        _, reply = self.w.request("exec", code=123)
        self.assertEqual(reply["error"]["code"], "protocol_error")
        _, reply = self.w.request("call", module="math")
        self.assertEqual(reply["error"]["code"], "protocol_error")
        self.w.send({"id": "not-an-int", "op": "ping"})
        self.assertEqual(self.w.recv()["error"]["code"], "protocol_error")
        self.assertAlive()


if __name__ == "__main__":
    unittest.main()


class OversizeHeaderTest(unittest.TestCase):
    """A header over the maximum is fatal at once: no body is read or discarded."""

    def check_fatal(self, announced):
        w = WorkerProc(env={"PYCTX_MAX_FRAME_BYTES": str(LIMIT)})
        try:
            self.assertEqual(w.value("eval", code="1+1"), 2)
            # Only the header: a worker that tried to skip the body would wait for it forever.
            w.send_raw(struct.pack(">I", announced))
            reply = w.recv()
            self.assertEqual((reply["id"], reply["ok"]), (None, False))
            self.assertEqual(reply["error"]["code"], "protocol_error")
            self.assertIn("over the maximum of %d" % LIMIT, reply["error"]["message"])
            self.assertEqual(w.proc.wait(20), 76)
            self.assertIn(b"protocol error, exiting", w.stderr_tail())
        finally:
            w.close()

    def test_just_over_the_limit(self):
        self.check_fatal(LIMIT + 1)

    def test_two_gib_header(self):
        self.check_fatal(2 << 30)
