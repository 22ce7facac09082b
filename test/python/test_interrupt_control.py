"""SIGINT handling and the fd-3 control channel while a cell runs."""

import os
import signal
import time
import unittest

from wclient import WorkerProc

LOOP = "started = True\nprint('looping', flush=True)\nwhile True:\n    pass"


class InterruptTest(unittest.TestCase):
    def setUp(self):
        self.w = WorkerProc()

    def tearDown(self):
        self.w.close()

    def _start_loop(self, code=LOOP):
        rid = self.w.start("exec", code=code)
        ev = self.w.recv()  # the 'looping' stream event: the cell is in user code now
        self.assertEqual(ev.get("event"), "stream")
        return rid

    def test_sigint_interrupts_busy_loop_and_worker_stays_usable(self):
        rid = self._start_loop()
        self.w.interrupt()
        _, reply = self.w.collect(rid)
        r = reply["value"]
        self.assertEqual(r["status"], "error")
        self.assertEqual(r["error"]["ename"], "KeyboardInterrupt")
        self.assertNotIn("pyctx_worker", "\n".join(r["error"]["traceback"]))
        self.assertEqual(self.w.value("eval", code="1+1"), 2)
        self.assertTrue(self.w.value("eval", code="started"))

    def test_sigint_interrupts_sleep(self):
        rid = self._start_loop("print('sleeping', flush=True)\nimport time\ntime.sleep(60)")
        t0 = time.monotonic()
        self.w.interrupt()
        _, reply = self.w.collect(rid)
        self.assertEqual(reply["value"]["error"]["ename"], "KeyboardInterrupt")
        self.assertLess(time.monotonic() - t0, 30)

    def test_sigint_between_requests_is_dropped(self):
        self.w.value("hello")
        for _ in range(5):
            self.w.interrupt()
        time.sleep(0.1)
        self.assertEqual(self.w.value("eval", code="1+1"), 2)
        _, r = self.w.exec("x = sum(range(1000))\nx")
        self.assertEqual(r["status"], "ok")

    def test_racing_interrupts_never_leak(self):
        # Interrupts fired while short requests run: whatever they hit, the request
        # after them (sent once all signals are delivered) must succeed.
        self.w.value("hello")
        for i in range(50):
            rid = self.w.start("eval", code="sum(range(20000))")
            time.sleep(0.0005 * (i % 4))
            os.kill(self.w.proc.pid, signal.SIGINT)
            _, reply = self.w.collect(rid)
            if not reply["ok"]:
                self.assertEqual(reply["error"]["code"], "interrupted")
            self.assertEqual(self.w.value("eval", code="21*2"), 42)
        self.assertIsNone(self.w.proc.poll())

    def test_control_interrupt_op(self):
        rid = self._start_loop()
        self.assertIsNone(self.w.ctl("interrupt")["value"])
        _, reply = self.w.collect(rid)
        self.assertEqual(reply["value"]["error"]["ename"], "KeyboardInterrupt")
        self.assertEqual(self.w.value("eval", code="1+1"), 2)


class ControlChannelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = WorkerProc()
        cls.w.exec("alpha_map = {'alpha': 1}\nimport re\npat = re.compile('a+')\n"
                   "nums = list(range(10))")
        cls.rid = cls.w.start("exec", code=LOOP)
        ev = cls.w.recv()
        assert ev.get("event") == "stream", ev

    @classmethod
    def tearDownClass(cls):
        cls.w.interrupt()
        try:
            cls.w.collect(cls.rid)
        finally:
            cls.w.close()

    def test_ping(self):
        self.assertEqual(self.w.ctl("ping")["value"], "pong")

    def test_stats_while_cell_runs(self):
        s = self.w.ctl("stats")["value"]
        self.assertGreater(s["rss_bytes"], 1 << 20)
        self.assertEqual(len(s["gc_counts"]), 3)
        self.assertGreaterEqual(s["namespace_size"], 4)
        self.assertIn("refs", s)
        self.assertIn("sessions", s)

    def test_complete_attributes_of_live_objects(self):
        r = self.w.ctl("complete", code="alpha_map.", cursor=10)["value"]
        self.assertIn("keys", r["matches"])
        self.assertEqual(r["cursor_end"], 10)
        r = self.w.ctl("complete", code="alpha_map.it", cursor=12)["value"]
        self.assertIn("items", r["matches"])
        self.assertEqual(r["cursor_start"], 10)
        r = self.w.ctl("complete", code="alpha_map['al", cursor=13)["value"]
        self.assertTrue(any("alpha" in m for m in r["matches"]), r)
        r = self.w.ctl("complete", code="alph", cursor=4)["value"]
        self.assertIn("alpha_map", r["matches"])
        self.assertEqual(r["cursor_start"], 0)

    def test_complete_magic_names_at_line_start(self):
        r = self.w.ctl("complete", code="x = 1\n%ti", cursor=9)["value"]
        self.assertEqual(r["matches"], ["%time", "%timeit"])
        self.assertEqual((r["cursor_start"], r["cursor_end"]), (6, 9))
        r = self.w.ctl("complete", code="%%wr", cursor=4)["value"]
        self.assertEqual(r["matches"], ["%%writefile"])
        r = self.w.ctl("complete", code="a % b", cursor=5)["value"]
        self.assertNotIn("%time", r["matches"])

    def test_inspect(self):
        r = self.w.ctl("inspect", code="len(nums)", cursor=6)["value"]
        self.assertTrue(r["found"])
        self.assertEqual((r["name"], r["type_name"], r["len"]), ("nums", "list", 10))
        self.assertTrue(r["repr"].startswith("[0, 1"))
        r = self.w.ctl("inspect", code="pat.match", cursor=6)["value"]
        self.assertEqual(r["name"], "pat.match")
        self.assertIn("doc", r)
        self.assertFalse(self.w.ctl("inspect", code="nope_zz", cursor=3)["value"]["found"])

    def test_refs_ops_on_control(self):
        infos = self.w.ctl("refs.list")["value"]
        self.assertIn("var:alpha_map", [i["id"] for i in infos])
        self.assertIn("total", self.w.ctl("refs.stats")["value"])

    def test_non_control_op_refused(self):
        r = self.w.ctl("eval", code="1")
        self.assertEqual(r["error"]["code"], "protocol_error")


if __name__ == "__main__":
    unittest.main()
