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
