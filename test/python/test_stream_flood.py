"""A flood of print()s (capture.py: block buffering while it lasts): every line
arrives, in order, in few events; the flood's tail is sent while the cell still
runs (not held until its end); the next request is line-buffered again, so its
prints keep their place among raw fd writes. Behaviour only, no timings."""

import os
import tempfile
import unittest

from wclient import stream_text, WorkerTestCase


class StreamFloodTest(WorkerTestCase):
    def test_a_flood_arrives_whole_in_order_and_batched(self):
        events, r = self.w.exec("for i in range(100000):\n    print(i)")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(stream_text(events), "".join("%d\n" % i for i in range(100000)))
        self.assertLess(len(events), 400)

    def test_the_tail_of_a_flood_goes_out_while_the_cell_still_runs(self):
        # The cell floods, prints a last line, then waits until the test has seen that
        # line (it creates a file). Held in Python's buffer, the line would never come.
        with tempfile.TemporaryDirectory() as d:
            flag = os.path.join(d, "seen")
            code = ("import os, time\n"
                    "for i in range(20000):\n    print(i)\n"
                    "print('tail')\n"
                    "deadline = time.monotonic() + 60\n"
                    "while not os.path.exists(%r) and time.monotonic() < deadline:\n"
                    "    time.sleep(0.01)\n"
                    "print('seen' if os.path.exists(%r) else 'gave up')\n" % (flag, flag))
            rid = self.w.start("exec", code=code)
            text = ""
            while "tail\n" not in text:
                m = self.w.recv(timeout=30)
                self.assertNotIn("ok", m, "the cell ended before its tail was sent: %r" % m)
                if m.get("event") == "stream":
                    text += m["text"]
            open(flag, "w").close()
            events, reply = self.w.collect(rid, timeout=60)
            self.assertTrue(reply.get("ok"), reply)
            self.assertEqual(text + stream_text(events),
                             "".join("%d\n" % i for i in range(20000)) + "tail\nseen\n")

    def test_after_a_flood_prints_keep_their_place_among_raw_writes(self):
        self.w.exec("for i in range(50000):\n    print(i)")
        events, r = self.w.exec("import os, sys, subprocess\n"
                                "print('buffering', 'line' if sys.stdout.line_buffering else 'block')\n"
                                "os.write(1, b'two\\n')\n"
                                "print('three')\n"
                                "subprocess.run(['echo', 'four'])\n"
                                "print('five')\n")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(stream_text(events), "buffering line\ntwo\nthree\nfour\nfive\n")


if __name__ == "__main__":
    unittest.main()
