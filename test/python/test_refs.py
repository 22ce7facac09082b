"""Refs and sessions: handles for live objects, release, TTL, LRU, variables, errors."""

import time
import unittest

from wclient import WorkerProc


def is_ref(v):
    return isinstance(v, dict) and v.get("__type__") == "ref"


class RefsTest(unittest.TestCase):
    def setUp(self):
        self.w = WorkerProc(env={"PYCTX_SESSION": "s1"})

    def tearDown(self):
        self.w.close()

    def compile_pattern(self, session="s1", flags=0):
        v = self.w.value("call", module="re", fn="compile", args=["\\d+", flags],
                         session=session)
        self.assertTrue(is_ref(v), v)
        return v

    def test_re_compile_returns_ref(self):
        ref = self.compile_pattern()
        self.assertEqual(ref["__schema__"], 1)
        self.assertEqual(ref["session_id"], "s1")
        self.assertEqual(ref["type_name"], "Pattern")
        self.assertEqual(ref["python_module"], "re")
        self.assertRegex(ref["id"], r"^[0-9a-f]{32}$")
        self.assertEqual(self.w.value("call", module="math", fn="sqrt", args=[16]), 4.0)

    def test_method_and_attr(self):
        ref = self.compile_pattern()
        m = self.w.value("method", ref=ref, name="match", args=["123abc"])
        self.assertTrue(is_ref(m))
        self.assertEqual(m["type_name"], "Match")
        self.assertEqual(self.w.value("method", ref=m, name="group"), "123")
        self.assertEqual(self.w.value("attr", ref=ref, name="pattern"), "\\d+")
        self.assertIsNone(self.w.value("method", ref=ref, name="match", args=["abc"]))

    def test_refs_in_args_resolved_anywhere(self):
        ref = self.compile_pattern()
        self.assertEqual(self.w.value("call", module="builtins", fn="getattr",
                                      args=[ref, "pattern"]), "\\d+")
        self.assertEqual(self.w.value("eval", code="d['k'][0].pattern",
                                      locals={"d": {"k": [ref]}}), "\\d+")
        self.assertEqual(self.w.value("call", module="re", fn="sub",
                                      args=[], kwargs={"pattern": ref, "repl": "#",
                                                       "string": "a1b22"}), "a#b#")
        self.assertEqual(self.w.value("call", module="builtins", fn="len", args=[[ref, ref]]), 2)

    def test_same_object_twice_same_id(self):
        v = self.w.value("eval", code="(lambda o: [o, {'again': o}, object()])(object())")
        self.assertTrue(is_ref(v[0]))
        self.assertEqual(v[0]["id"], v[1]["again"]["id"])
        self.assertNotEqual(v[0]["id"], v[2]["id"])

    def test_plain_data_is_not_a_ref(self):
        self.assertEqual(self.w.value("eval", code="[None, True, 1, 2.5, 's', b'b', (1,), {'a': [1]}]"),
                         [None, True, 1, 2.5, "s", b"b", [1], {"a": [1]}])
        self.assertEqual(self.w.value("eval", code="[__import__('enum').IntEnum('C', 'A B').B, "
                                                   "type('F', (float,), {})(1.5)]"), [2, 1.5])
        self.assertTrue(is_ref(self.w.value("eval", code="{1, 2}")))
        self.assertTrue(is_ref(self.w.value("eval", code="2 ** 80")))

    def test_release_then_use_and_release_twice(self):
        ref = self.compile_pattern()
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": True})
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": False})
        _, reply = self.w.request("method", ref=ref, name="match", args=["1"])
        self.assertEqual(reply["error"]["code"], "ref_not_found")
        self.assertIn("released", reply["error"]["message"])

    def test_session_release(self):
        a1 = self.compile_pattern("A")
        self.compile_pattern("A", flags=2)  # a distinct object (re caches compiles)
        b1 = self.compile_pattern("B")
        self.assertEqual(self.w.value("session.release", session="A"), {"count": 2})
        self.assertEqual(self.w.value("session.release", session="A"), {"count": 0})
        _, reply = self.w.request("attr", ref=a1, name="pattern", session="A")
        self.assertEqual(reply["error"]["code"], "ref_not_found")
        self.assertIn("session released", reply["error"]["message"])
        self.assertEqual(self.w.value("attr", ref=b1, name="pattern", session="B"), "\\d+")

    def test_session_release_of_the_bound_session_frees_its_variables(self):
        self.w.exec("import os\nkeep_mod = os\nv1 = [1]\nv2 = 'x'\n_private = 3")
        self.compile_pattern("s1")
        self.assertEqual(self.w.value("session.release", session="s1"), {"count": 3})
        _, r = self.w.exec("v1")
        self.assertEqual(r["error"]["ename"], "NameError")
        self.assertEqual(self.w.value("eval", code="(_private, os.sep)"), [3, "/"])

    def test_session_mismatch(self):
        ref = self.compile_pattern("A")
        _, reply = self.w.request("attr", ref=ref, name="pattern", session="B")
        self.assertEqual(reply["error"]["code"], "session_mismatch")
        self.assertIn("'A'", reply["error"]["message"])
        _, reply = self.w.request("call", module="builtins", fn="repr", args=[ref], session="B")
        self.assertEqual(reply["error"]["code"], "session_mismatch")

    def test_invalid_ref_causes(self):
        ref = self.compile_pattern()
        cases = {
            "missing_id": {k: v for k, v in ref.items() if k != "id"},
            "missing_type": {k: v for k, v in ref.items() if k != "__type__"},
            "unknown_schema": dict(ref, __schema__=99),
            "unknown_type": dict(ref, __type__="blob"),
            "not_a_map": "just a string",
        }
        for reason, bad in cases.items():
            _, reply = self.w.request("attr", ref=bad, name="pattern")
            self.assertEqual(reply["error"]["code"], "invalid_ref", reason)
            self.assertEqual(reply["error"]["reason"], reason)
        _, reply = self.w.request("call", module="builtins", fn="repr",
                                  args=[{"__type__": "ref", "__schema__": 1}])
        self.assertEqual(reply["error"]["code"], "invalid_ref")
        _, reply = self.w.request("refs.release", ref={"id": "x"})
        self.assertEqual(reply["error"]["code"], "invalid_ref")

    def test_ttl_expiry_configured_per_session(self):
        self.assertIsNone(self.w.value("configure", session="ttl", ref_ttl_seconds=0.3))
        ref = self.compile_pattern("ttl")
        other = self.compile_pattern("s1")
        self.assertEqual(self.w.value("attr", ref=ref, name="pattern", session="ttl"), "\\d+")
        time.sleep(0.6)
        _, reply = self.w.request("attr", ref=ref, name="pattern", session="ttl")
        self.assertEqual(reply["error"]["code"], "ref_not_found")
        self.assertIn("expired", reply["error"]["message"])
        self.assertEqual(self.w.value("attr", ref=other, name="pattern", session="s1"), "\\d+")
        self.assertGreaterEqual(self.w.value("refs.stats")["expired"], 1)

    def test_lru_eviction(self):
        self.w.value("configure", session="lru", max_refs_per_session=3)
        refs = [self.w.value("eval", code="object()", session="lru") for _ in range(4)]
        # touch refs[1] so refs[2] is least recent when the 5th arrives
        self.w.value("call", module="builtins", fn="id", args=[refs[1]], session="lru")
        refs.append(self.w.value("eval", code="object()", session="lru"))
        alive = []
        for r in refs:
            _, reply = self.w.request("call", module="builtins", fn="id", args=[r], session="lru")
            if reply["ok"]:
                alive.append(refs.index(r))
            else:
                self.assertEqual(reply["error"]["code"], "ref_not_found")
                self.assertIn("evicted", reply["error"]["message"])
        self.assertEqual(alive, [1, 3, 4])
        stats = self.w.value("refs.stats")
        self.assertEqual(stats["sessions"]["lru"]["count"], 3)
        self.assertEqual(stats["evicted"], 2)

    def test_refs_list_and_stats(self):
        ref = self.compile_pattern()
        infos = self.w.value("refs.list", session="s1")
        mine = [i for i in infos if i["id"] == ref["id"]][0]
        self.assertEqual(mine["kind"], "ref")
        self.assertEqual(mine["type_name"], "Pattern")
        self.assertGreater(mine["size_bytes"], 0)
        self.assertIn("compile", mine["repr"])
        self.assertLessEqual(mine["created_at"], mine["last_access"])
        s = self.w.value("refs.stats")
        self.assertEqual(s["sessions"]["s1"]["count"], 1)
        self.assertEqual(s["total"], 1)
        self.assertEqual(self.w.value("refs.list", session="nobody"), [])

    def test_variables_listed_and_released(self):
        _, r1 = self.w.exec("import os\nbig = bytearray(10**6)\n_hidden = 1\nsmall = 'x'")
        _, r2 = self.w.exec("small = 'y'")
        infos = {i["id"]: i for i in self.w.value("refs.list", session="s1")}
        self.assertIn("var:big", infos)
        self.assertNotIn("var:os", infos)
        self.assertNotIn("var:_hidden", infos)
        self.assertNotIn("var:display", infos)
        big = infos["var:big"]
        self.assertEqual((big["kind"], big["name"], big["type_name"]),
                         ("variable", "big", "bytearray"))
        self.assertGreaterEqual(big["size_bytes"], 10**6)
        self.assertEqual(big["execution_count"], r1["execution_count"])
        self.assertEqual(infos["var:small"]["execution_count"], r2["execution_count"])
        ref = {"__type__": "ref", "__schema__": 1, "id": "var:big", "session_id": "s1"}
        self.assertEqual(self.w.value("attr", ref=ref, name="__len__", session="s1")
                         ["type_name"], "method-wrapper")
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": True})
        _, r = self.w.exec("big")
        self.assertEqual(r["error"]["ename"], "NameError")
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": False})

    def test_releasing_a_variable_releases_history_holding_it(self):
        self.w.exec("import gc\nclass Big: pass\ndata = Big()\nother = [1]")
        _, r = self.w.exec("data")            # output history _N now holds the same object
        _, r2 = self.w.exec("other")
        ids = [i["id"] for i in self.w.value("refs.list")]
        self.assertIn("res:%d" % r["execution_count"], ids)
        ref = {"__type__": "ref", "__schema__": 1, "id": "var:data", "session_id": "s1"}
        reply = self.w.value("refs.release", ref=ref)
        self.assertTrue(reply["released"])
        self.assertIn("_%d" % r["execution_count"], reply.get("history_released", []))
        ids = [i["id"] for i in self.w.value("refs.list")]
        self.assertNotIn("res:%d" % r["execution_count"], ids)
        self.assertIn("res:%d" % r2["execution_count"], ids, "history of other objects stays")
        self.assertEqual(self.w.value("eval", code="sum(type(o) is Big for o in gc.get_objects())"), 0,
                         "nothing holds the released object any more")

    def test_exec_results_held_while_listed(self):
        _, r = self.w.exec("[1, 2, 3]")
        n = r["execution_count"]
        infos = {i["id"]: i for i in self.w.value("refs.list")}
        res = infos["res:%d" % n]
        self.assertEqual((res["kind"], res["name"], res["type_name"]), ("result", "_%d" % n, "list"))
        ref = {"__type__": "ref", "__schema__": 1, "id": "res:%d" % n, "session_id": "s1"}
        self.assertEqual(self.w.value("call", module="builtins", fn="sum", args=[ref]), 6)
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": True})
        self.assertNotIn("res:%d" % n, [i["id"] for i in self.w.value("refs.list")])
        # no other hidden output cache keeps a result alive once it is released
        self.w.exec("import gc\nclass Big: pass")
        _, r = self.w.exec("Big()")
        ref = dict(ref, id="res:%d" % r["execution_count"])
        self.assertEqual(self.w.value("eval", code="sum(type(o) is Big for o in gc.get_objects())"), 1)
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": True})
        self.assertEqual(self.w.value("eval", code="sum(type(o) is Big for o in gc.get_objects())"), 0)

    def test_memory_drops_after_release(self):
        base = self.w.value("stats")["rss_bytes"]
        ref = self.w.value("eval", code="bytearray(100 * 2**20)")
        self.assertEqual(ref["type_name"], "bytearray")
        held = self.w.value("stats")["rss_bytes"]
        self.assertGreater(held - base, 90 * 2**20)
        info = [i for i in self.w.value("refs.list") if i["id"] == ref["id"]][0]
        self.assertGreaterEqual(info["size_bytes"], 100 * 2**20)
        self.w.value("refs.release", ref=ref)
        self.assertLess(self.w.value("stats")["rss_bytes"] - base, 20 * 2**20)

    def test_refs_list_with_many_variables(self):
        self.w.exec("for i in range(10000):\n    globals()['v%d' % i] = [i] * 3")
        infos = self.w.value("refs.list", session="s1")
        again = self.w.value("refs.list", session="s1")
        names = [i["name"] for i in infos if i["kind"] == "variable"]
        self.assertEqual(len([n for n in names if n.startswith("v")]), 10000)
        self.assertTrue(all(i["size_bytes"] > 0 and isinstance(i["repr"], str) for i in again))
        v = [i for i in again if i["id"] == "var:v7"][0]
        self.assertEqual((v["type_name"], v["repr"]), ("list", "[7, 7, 7]"))


if __name__ == "__main__":
    unittest.main()
