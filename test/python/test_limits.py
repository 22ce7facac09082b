"""PYCTX_MEMORY_LIMIT: a runaway allocation in a cell is a MemoryError in that cell;
the worker and its state survive. Real worker processes."""

import sys
import unittest

from wclient import WorkerProc

LIMIT = 512 << 20


@unittest.skipUnless(sys.platform.startswith("linux"), "RLIMIT_AS is enforced on Linux")
class MemoryLimitTest(unittest.TestCase):
    def setUp(self):
        self.w = WorkerProc(env={"PYCTX_MEMORY_LIMIT": str(LIMIT)})

    def tearDown(self):
        self.w.close()

    def test_hello_reports_the_limit(self):
        self.assertEqual(self.w.value("hello")["memory_limit"], LIMIT)

    def test_big_allocation_is_a_memory_error_and_the_state_survives(self):
        self.w.exec("kept = 41")
        _, r = self.w.exec("big = bytearray(1 << 30)")
        self.assertEqual(r["status"], "error", r)
        self.assertEqual(r["error"]["ename"], "MemoryError")
        _, r = self.w.exec("big = [0] * (10 ** 9)")
        self.assertEqual(r["error"]["ename"], "MemoryError")
        _, r = self.w.exec("kept + 1")
        self.assertEqual(r["result"]["data"]["text/plain"], "42")
        # Below the limit, allocating works.
        _, r = self.w.exec("len(bytearray(100 << 20))")
        self.assertEqual(r["result"]["data"]["text/plain"], str(100 << 20))


class NoLimitTest(unittest.TestCase):
    def test_without_the_variable_there_is_no_limit(self):
        w = WorkerProc()
        try:
            self.assertIsNone(w.value("hello")["memory_limit"])
            _, r = w.exec("import resource\nresource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY")
            self.assertEqual(r["result"]["data"]["text/plain"], "True")
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
