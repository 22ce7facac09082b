"""Worker behaviour the Ref Explorer relies on (added by the views area): sizes of
big containers are estimated near their real footprint, and releasing the bound
session frees its variables too (they are listed as its refs)."""

import sys
import unittest

from pyctx_worker import sizing
from wclient import WorkerProc


class DeepSizeTest(unittest.TestCase):
    def test_big_list_of_ints_is_estimated_near_its_real_size(self):
        items = [i * i for i in range(200_000)]
        real = sys.getsizeof(items) + sum(sys.getsizeof(i) for i in items)
        est = sizing.deep_size(items)
        self.assertLess(abs(est - real) / real, 0.25, (est, real))

    def test_small_containers_are_exact(self):
        d = {"a": [1, 2, 3], "b": "xyz"}
        real = (sys.getsizeof(d) + sys.getsizeof("a") + sys.getsizeof("b") + sys.getsizeof(d["a"])
                + sum(sys.getsizeof(i) for i in d["a"]) + sys.getsizeof("xyz"))
        self.assertEqual(sizing.deep_size(d), real)


class SessionReleaseTest(unittest.TestCase):
    def setUp(self):
        self.w = WorkerProc(env={"PYCTX_SESSION": "s1"})

    def tearDown(self):
        self.w.close()

    def test_session_release_frees_the_bound_sessions_variables(self):
        self.w.exec("import os\na = 1\nb = [0] * 1000\n_private = 2")
        ref = self.w.value("eval", code="object()", session="s1")
        self.assertEqual(ref["__type__"], "ref")
        count = self.w.value("session.release", session="s1")["count"]
        self.assertEqual(count, 3)  # the ref, a, b (not modules, not _names)
        self.assertEqual([i for i in self.w.value("refs.list", session="s1") if i["kind"] == "variable"], [])
        _, r = self.w.exec("a")
        self.assertEqual(r["error"]["ename"], "NameError")
        _, r = self.w.exec("os.sep, _private")
        self.assertNotIn("error", r)

    def test_other_sessions_keep_the_variables(self):
        self.w.exec("a = 1")
        self.assertEqual(self.w.value("session.release", session="other")["count"], 0)
        _, r = self.w.exec("a")
        self.assertNotIn("error", r)


if __name__ == "__main__":
    unittest.main()
