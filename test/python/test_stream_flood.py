"""A flood of print()s (capture.py: block buffering while it lasts): every line
arrives, in order, in few events; a flood reaches the pool while it is printed,
not after the loop; the flood's tail is sent while the cell still runs (not held
until its end), also for a flood just over the threshold; a process forked during a
flood prints through the pipe, never into the worker's channel; the next request is
line-buffered again, so its prints keep their place among raw fd writes."""

import os
import tempfile
import time
import unittest

from wclient import stream_text, WorkerTestCase


class StreamFloodTest(WorkerTestCase):
    def test_a_flood_arrives_whole_in_order_and_batched(self):
        events, r = self.w.exec("for i in range(100000):\n    print(i)")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(stream_text(events), "".join("%d\n" % i for i in range(100000)))
        self.assertLess(len(events), 400)

    def test_a_flood_streams_while_it_is_printed(self):
        # 1.5 s of printing: its first blocks must arrive long before the cell ends.
        # (The batching thread alone starved for the GIL until the loop ended.)
        rid = self.w.start("exec", code="import time\nt = time.monotonic()\ni = 0\n"
                                        "while time.monotonic() - t < 1.5:\n    print(i)\n    i += 1\n")
        first = None
        got = 0
        while True:
            m = self.w.recv(timeout=30)
            if m.get("event") == "stream":
                got += len(m["text"])
                if first is None and got >= 65536:
                    first = time.monotonic()
            elif m.get("id") == rid and "ok" in m:
                end = time.monotonic()
                break
        self.assertTrue(m["ok"], m)
        self.assertIsNotNone(first, "the flood never reached 64 KiB")
        self.assertGreater(end - first, 0.5, "the flood arrived only as the cell ended")

    def test_a_process_forked_during_a_flood_prints_through_the_pipe(self):
        events, r = self.w.exec(
            "import os\n"
            "for i in range(5000):\n    print(i)\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    for j in range(3000):\n        print('child', j)\n"
            "    import sys; sys.stdout.flush(); os._exit(0)\n"
            "os.waitpid(pid, 0)\n"
            "print('parent done')\n")
        self.assertEqual(r["status"], "ok", r)
        text = stream_text(events)
        self.assertIn("".join("child %d\n" % j for j in range(3000)), text)
        self.assertTrue(text.startswith("".join("%d\n" % i for i in range(5000))), text[:200])
        self.assertIn("parent done\n", text)
        # the channel is still in step: the next request works
        _, r = self.w.exec("1 + 1")
        self.assertEqual(r["status"], "ok", r)

    def test_the_tail_of_a_flood_goes_out_while_the_cell_still_runs(self):
        for n in (20000, 100):  # 100: a flood just over the threshold, then quiet
            with self.subTest(lines=n):
                self._tail_goes_out(n)

    def _tail_goes_out(self, n):
        # The cell floods, prints a last line, then waits until the test has seen that
        # line (it creates a file). Held in Python's buffer, the line would never come.
        with tempfile.TemporaryDirectory() as d:
            flag = os.path.join(d, "seen")
            code = ("import os, time\n"
                    "for i in range(%d):\n    print(i)\n" % n +
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
                             "".join("%d\n" % i for i in range(n)) + "tail\nseen\n")

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
