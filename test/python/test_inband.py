"""In-band mode (PYCTX_INBAND=1): the worker as a launcher (srun, ssh) runs it.

No fd 3, and stdout is a pty in its default cooked mode (what srun --unbuffered or
ssh -t give): the worker must make it raw so frames stay byte-exact, answer
control-marked requests from its reader thread while a cell runs (interrupt,
stats), and report a working directory the node lacks.
"""

import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import unittest

from wclient import BOOTSTRAP, codec


class InBandWorker:
    def __init__(self):
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        assert attrs[1] & termios.OPOST, "the test pty starts cooked"
        env = dict(os.environ, PYCTX_INBAND="1")
        env.pop("PYCTX_PRELOAD", None)
        self.proc = subprocess.Popen([sys.executable, "-c", BOOTSTRAP], stdin=subprocess.PIPE,
                                     stdout=slave, stderr=subprocess.PIPE, env=env, bufsize=0)
        os.close(slave)
        self.fd = master
        self.buf = b""
        self.next_id = 1

    def send(self, msg):
        payload = codec.packb(msg)
        self.proc.stdin.write(struct.pack(">I", len(payload)) + payload)

    def frame(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    msg = codec.unpackb(self.buf[4:4 + n])
                    self.buf = self.buf[4 + n:]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                self.buf += os.read(self.fd, 1 << 20)

    def request(self, op, control=False, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = dict(fields, id=rid, op=op)
        if control:
            msg["control"] = True
        self.send(msg)
        return rid

    def until_reply(self, rid, timeout=20):
        events = []
        while True:
            m = self.frame(timeout)
            if m.get("id") == rid and "ok" in m:
                return m, events
            events.append(m)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        finally:
            os.close(self.fd)
            self.proc.stderr.close()


class InBandTest(unittest.TestCase):
    def setUp(self):
        self.w = InBandWorker()
        self.addCleanup(self.w.close)

    def test_frames_stay_exact_on_a_cooked_pty(self):
        reply, _ = self.w.until_reply(self.w.request("hello"))
        self.assertTrue(reply["ok"])
        rid = self.w.request("eval", code="bytes(range(256)) * 1024")
        reply, _ = self.w.until_reply(rid)
        self.assertEqual(reply["value"], bytes(range(256)) * 1024)

    def test_control_requests_answer_during_a_cell_and_interrupt_it(self):
        self.w.until_reply(self.w.request("hello"))
        loop = self.w.request("exec", code="print('looping', flush=True)\nwhile True: pass")
        first = self.w.frame()
        self.assertEqual(first.get("text"), "looping\n")
        stats, _ = self.w.until_reply(self.w.request("stats", control=True))
        self.assertTrue(stats["ok"])
        self.assertGreater(stats["value"]["rss_bytes"], 0)
        self.w.request("interrupt", control=True)
        reply, _ = self.w.until_reply(loop)
        self.assertEqual(reply["value"]["status"], "error")
        self.assertEqual(reply["value"]["error"]["ename"], "KeyboardInterrupt")
        again, _ = self.w.until_reply(self.w.request("eval", code="1 + 1"))
        self.assertEqual(again["value"], 2)

    def test_missing_cwd_is_a_warning_shown_once(self):
        reply, _ = self.w.until_reply(self.w.request("hello", cwd="/nonexistent/pyctx-nb"))
        warning = reply["value"]["cwd_warning"]
        self.assertIn("/nonexistent/pyctx-nb is not available on node", warning)
        self.assertTrue(reply["value"]["host"])
        _, events = self.w.until_reply(self.w.request("exec", code="1"))
        self.assertEqual([e.get("text") for e in events], [warning])
        _, events = self.w.until_reply(self.w.request("exec", code="2"))
        self.assertEqual(events, [])


if __name__ == "__main__":
    unittest.main()
