"""Completion kinds and documentation (introspect.py): with jedi and without it
(the standard-library path of a bare interpreter), every match says what it is."""

import os
import unittest
from unittest import mock

from pyctx_worker import introspect


def shout(word, times=2):
    """Say it louder."""
    return word


class Thing:
    pass


NS = {"os": os, "shout": shout, "Thing": Thing, "value": 1}


def kinds(code):
    r = introspect.complete(dict(NS), code, len(code))
    return dict(zip(r["matches"], r["kinds"]))


class KindsTest(unittest.TestCase):
    def check(self):
        self.assertEqual(kinds("sh")["shout"], "function")
        self.assertEqual(kinds("Th")["Thing"], "class")
        self.assertEqual(kinds("o")["os"], "module")
        self.assertEqual(kinds("val")["value"], "variable")
        self.assertEqual(kinds("whil")["while"], "keyword")
        self.assertEqual(kinds("os.pa")["path"], "module")
        self.assertEqual(set(kinds("%ti").values()), {"magic"})

    def test_kinds_with_jedi_when_importable(self):
        self.check()

    def test_kinds_without_jedi(self):
        with mock.patch.object(introspect, "_jedi", None), mock.patch.object(introspect, "_jedi_failed", True):
            self.check()

    def test_inspect_gives_signature_and_docstring(self):
        r = introspect.inspect_at(dict(NS), "shout", 5)
        self.assertEqual(r["signature"], "shout(word, times=2)")
        self.assertEqual(r["docstring"], "Say it louder.")
        self.assertEqual(r["kind"], "function")
        self.assertEqual(introspect.inspect_at(dict(NS), "while", 5)["kind"], "keyword")


if __name__ == "__main__":
    unittest.main()


class BudgetTest(unittest.TestCase):
    """The editor's budget: jedi gets 60% of it; past that (or while an earlier inference
    still runs) the live namespace answers at once, marked partial."""

    def test_slow_jedi_gives_the_namespace_names_marked_partial(self):
        import threading
        import time
        release = threading.Event()

        def slow(ns, code, cursor):
            release.wait(5)
            return {"matches": ["shout_from_jedi"], "kinds": ["function"],
                    "cursor_start": 0, "cursor_end": 2, "source": "jedi"}

        with mock.patch.object(introspect, "_jedi_complete", slow):
            t = time.monotonic()
            r = introspect.complete(dict(NS), "sh", 2, budget_ms=100)
            self.assertLess(time.monotonic() - t, 1.0)
            self.assertEqual(r["matches"], ["shout"])
            self.assertEqual(r["kinds"], ["function"])
            self.assertTrue(r.get("partial"))
            # Still busy: no second inference beside the first, the answer is immediate.
            r2 = introspect.complete(dict(NS), "sh", 2, budget_ms=100)
            self.assertTrue(r2.get("partial"))
            release.set()
            for _ in range(100):
                if not introspect._jedi_busy:
                    break
                time.sleep(0.01)
            r3 = introspect.complete(dict(NS), "sh", 2, budget_ms=1000)
            self.assertEqual(r3["matches"], ["shout_from_jedi"])
            self.assertNotIn("partial", r3)
