"""text/plain like Jupyter: pyctx_worker.pretty against fixed strings, the real IPython
(when importable: Debian's /usr/bin/python3 has it) and through a real worker."""

import collections
import importlib.util
import os
import re
import sys
import types
import unittest

import wclient  # noqa: F401  (puts <repo>/python on sys.path)
from pyctx_worker.pretty import MAX_SEQ_LENGTH, MAX_TOTAL_ITEMS, pretty, text_plain
from wclient import WorkerTestCase

HAVE_IPYTHON = importlib.util.find_spec("IPython") is not None and \
    importlib.util.find_spec("IPython.lib.pretty") is not None


class Plain:
    pass


class OwnRepr:
    def __repr__(self):
        return "OwnRepr(\nline2)"


class Tree:
    def __init__(self, *kids):
        self.kids = kids

    def _repr_pretty_(self, p, cycle):
        if cycle:
            return p.text("Tree(...)")
        with p.group(5, "Tree(", ")"):
            for i, k in enumerate(self.kids):
                if i:
                    p.text(",")
                    p.breakable()
                p.pretty(k)


class BrokenPretty:
    def _repr_pretty_(self, p, cycle):
        raise RuntimeError("no")

    def __repr__(self):
        return "BrokenPretty()"


class Meta(type):
    def __repr__(cls):
        return "<Meta class>"


class WithMeta(metaclass=Meta):
    pass


class MyList(list):
    pass


class MyError(Exception):
    pass


def sample(x, factor=2, *, clip=None):
    return x


def cases():
    """Objects whose text must equal IPython's (built fresh: addresses are per object)."""
    cyc = [1, 2]
    cyc.append(cyc)
    dcyc = {"a": 1}
    dcyc["self"] = dcyc
    nested = {"alpha": list(range(30)),
              "beta": {"x": [("a" * 20, "b" * 30, {"c": set(range(12))})] * 3}, "gamma": (1,)}
    return [
        object(), Plain(), Plain, len, [].append, sample, lambda a, *b, k=3: 0, print,
        re.compile(r"\s+\d", re.I | re.M), re.compile(b"x"), ValueError("x", 2),
        MyError("long " * 20, list(range(20))), KeyError(), list(range(40)), list(range(10)),
        {"key_%d" % i: "value" * 3 for i in range(8)}, nested, cyc, dcyc,
        collections.deque(range(3), maxlen=5), collections.deque(range(50)),
        collections.Counter("abcabcz"), collections.Counter(),
        collections.defaultdict(list, a=[1]), collections.OrderedDict(a=1, b=2),
        collections.OrderedDict(), collections.UserList(range(40)),
        types.SimpleNamespace(a=1, b="x" * 80), types.SimpleNamespace(name="n" * 50, p=[1] * 20),
        set(range(30, 0, -1)), {3, "a", None},
        frozenset(range(40)), frozenset(), set(), (1,), (), [], {}, os, type.__dict__,
        list(range(MAX_SEQ_LENGTH + 10)), set(range(2 * MAX_SEQ_LENGTH)),
        {i: i for i in range(MAX_SEQ_LENGTH + 500)}, OwnRepr(), [OwnRepr(), OwnRepr()],
        Tree(list(range(12)), {"leaf": "x" * 40}, Tree("a", "b")), [Tree(*range(40))],
        WithMeta, MyList(range(40)), int, type, None, True, Ellipsis, NotImplemented, 1.5,
        10 ** 30, "x\ny", b"bytes", range(3), slice(1, 2), [[list(range(15))] * 4] * 2,
        ("a" * 78,), ["a" * 77], ["a" * 76], {"a" * 70: "b" * 10}, [1, [2, [3, [4, [5] * 30]]]],
        collections.namedtuple("P", "x y")(1, 2), str.join, Exception, type(None),
        {(1, 2): frozenset({1}), None: [], "z": ()}, sorted, iter([]), super, 3 + 4j,
        bytearray(b"xx"), Plain().__init__,
    ]


class FixedStringsTest(unittest.TestCase):
    """Expected strings taken from IPython 8.5; these run without IPython."""

    def test_long_list_wraps_one_item_per_line(self):
        self.assertEqual(pretty(list(range(40))),
                         "[" + ",\n ".join(str(i) for i in range(40)) + "]")
        self.assertEqual(pretty(list(range(10))), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]")

    def test_79_columns_boundary(self):
        self.assertEqual(pretty(["a" * 74]), "['%s']" % ("a" * 74))  # 78 wide: fits
        self.assertEqual(pretty(["a" * 75, 1]), "['%s',\n 1]" % ("a" * 75))

    def test_dict_keeps_insertion_order_and_nests(self):
        d = {"zeta": 1, "alpha": list(range(25)), "mid": {"k": (1,)}}
        self.assertEqual(pretty(d), "{'zeta': 1,\n 'alpha': [0,\n  1,\n  2,\n  3,\n  4,\n"
                         "  5,\n  6,\n  7,\n  8,\n  9,\n  10,\n  11,\n  12,\n  13,\n  14,\n"
                         "  15,\n  16,\n  17,\n  18,\n  19,\n  20,\n  21,\n  22,\n  23,\n  24],\n"
                         " 'mid': {'k': (1,)}}")

    def test_sets_sorted(self):
        self.assertEqual(pretty({3, 1, 2}), "{1, 2, 3}")
        self.assertEqual(pretty(frozenset()), "frozenset()")
        self.assertEqual(pretty(frozenset({2, 1})), "frozenset({1, 2})")

    def test_functions_classes_modules_default_reprs(self):
        self.assertEqual(pretty(len), "<function len(obj, /)>")
        self.assertEqual(pretty(sample), "<function %s.sample(x, factor=2, *, clip=None)>"
                         % __name__)
        self.assertEqual(pretty(Plain), "%s.Plain" % __name__)
        self.assertEqual(pretty(int), "int")
        self.assertEqual(pretty(os), repr(os))
        obj = object()
        self.assertEqual(pretty(obj), "<object at 0x%x>" % id(obj))
        p = Plain()
        self.assertEqual(pretty(p), "<%s.Plain at 0x%x>" % (__name__, id(p)))
        self.assertEqual(pretty(WithMeta), "<Meta class>")

    def test_custom_repr_kept_and_newlines_preserved(self):
        self.assertEqual(pretty(OwnRepr()), "OwnRepr(\nline2)")
        self.assertEqual(pretty(MyError("x", 1)), "%s.MyError('x', 1)" % __name__)
        self.assertEqual(pretty(ValueError("bad")), "ValueError('bad')")

    def test_collections_and_regex(self):
        self.assertEqual(pretty(collections.deque([1], maxlen=3)), "deque([1], maxlen=3)")
        self.assertEqual(pretty(collections.defaultdict(list, a=[1])),
                         "defaultdict(list, {'a': [1]})")
        self.assertEqual(pretty(collections.Counter("aab")), "Counter({'a': 2, 'b': 1})")
        self.assertEqual(pretty(re.compile(r"\d+", re.I)),
                         "re.compile(r'\\d+', re.IGNORECASE|re.UNICODE)")
        self.assertEqual(pretty(types.SimpleNamespace(a=1)), "namespace(a=1)")

    def test_cycles(self):
        a = [1]
        a.append(a)
        self.assertEqual(pretty(a), "[1, [...]]")
        d = {}
        d["d"] = d
        self.assertEqual(pretty(d), "{'d': {...}}")

    def test_repr_pretty_gets_a_working_printer(self):
        self.assertEqual(pretty(Tree(1, Tree(2, 3))), "Tree(1, Tree(2, 3))")
        wide = pretty(Tree("a" * 40, "b" * 40))
        self.assertEqual(wide, "Tree('%s',\n     '%s')" % ("a" * 40, "b" * 40))

    def test_broken_repr_pretty_falls_back_to_repr(self):
        self.assertEqual(text_plain(BrokenPretty()), "BrokenPretty()")

    def test_unrepresentable(self):
        class Bad:
            def __repr__(self):
                raise ValueError("nope")
        self.assertEqual(text_plain(Bad()), "<unrepresentable Bad: nope>")

    def test_huge_containers_are_capped(self):
        big = list(range(10 ** 6))
        text = pretty(big)
        self.assertTrue(text.endswith(" 999,\n ...]"), text[-30:])
        self.assertEqual(text.count("\n"), MAX_SEQ_LENGTH)
        self.assertTrue(pretty(set(big)).endswith("...}"))
        self.assertTrue(pretty(dict.fromkeys(big)).endswith("...}"))

    def test_nested_containers_share_one_item_budget(self):
        # IPython would print 1000 x 1000 lines here (and 1000**3 for one more level).
        text = pretty([[list(range(5000))] * 5000] * 5000)
        self.assertLessEqual(text.count("\n"), MAX_TOTAL_ITEMS + 10)
        self.assertTrue(text.endswith("...],\n  ...],\n ...]"), text[-30:])
        self.assertEqual(pretty([[], [1]]), "[[], [1]]")  # small outputs untouched

    def test_deep_nesting_does_not_raise(self):
        deep = []
        for _ in range(100000):
            deep = [deep]
        self.assertTrue(text_plain(deep).startswith("<unrepresentable list"))


@unittest.skipUnless(HAVE_IPYTHON, "IPython not installed for %s" % sys.executable)
class MatchesIPythonTest(unittest.TestCase):
    def test_same_text_as_ipython(self):
        from IPython.lib.pretty import pretty as ipython_pretty
        for i, obj in enumerate(cases()):
            with self.subTest(case=i, type=type(obj).__name__):
                self.assertEqual(pretty(obj), ipython_pretty(obj))


class WorkerResultsTest(WorkerTestCase):
    def test_exec_result_and_display_use_pretty(self):
        _, r = self.w.exec("list(range(30))")
        self.assertEqual(r["result"]["data"]["text/plain"],
                         "[" + ",\n ".join(str(i) for i in range(30)) + "]")
        _, r = self.w.exec("class Plain:\n    pass\nPlain")
        self.assertEqual(r["result"]["data"]["text/plain"], "__main__.Plain")
        _, r = self.w.exec("def f(a, b=1):\n    pass\nf")
        self.assertEqual(r["result"]["data"]["text/plain"], "<function __main__.f(a, b=1)>")
        events, _ = self.w.exec("display(len, {'k': {2, 1}})")
        plains = [e["data"]["text/plain"] for e in events if e.get("event") == "display"]
        self.assertEqual(plains, ["<function len(obj, /)>", "{'k': {1, 2}}"])

    def test_scalars_and_custom_reprs_unchanged(self):
        _, r = self.w.exec("class R:\n    def __repr__(self): return 'R!'\n[R(), 'x', 1.5, None]")
        self.assertEqual(r["result"]["data"]["text/plain"], "[R!, 'x', 1.5, None]")
        _, r = self.w.exec("'s'")
        self.assertEqual(r["result"]["data"]["text/plain"], "'s'")


if __name__ == "__main__":
    unittest.main()
