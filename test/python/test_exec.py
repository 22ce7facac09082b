"""exec / eval / call on a real worker: results, streams, errors, SystemExit, namespace."""

import os
import pickle
import sys
import tempfile
import unittest

from wclient import WorkerProc, stream_text, WorkerTestCase


class ExecTest(WorkerTestCase):
    def test_hello(self):
        h = self.w.value("hello")
        self.assertEqual(h["pid"], self.w.proc.pid)
        self.assertEqual(h["protocol"], 1)
        self.assertEqual(h["executable"], sys.executable)
        self.assertIn(h["codec"], ("pure", "msgpack-c"))
        try:
            import msgpack  # noqa: F401
            self.assertEqual(h["codec"], "msgpack-c")
        except ImportError:
            self.assertEqual(h["codec"], "pure")
        self.assertIn("control", h["capabilities"])
        self.assertEqual(h["preload_errors"], [])

    def test_state_persists_and_result(self):
        self.w.exec("counter = 42")
        _, r = self.w.exec("counter += 1\ncounter")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["result"]["data"]["text/plain"], "43")
        self.assertEqual(self.w.value("eval", code="counter"), 43)

    def test_execution_count(self):
        _, a = self.w.exec("1")
        _, b = self.w.exec("2")
        self.assertEqual(b["execution_count"], a["execution_count"] + 1)
        _, c = self.w.exec("3", store_history=False)
        self.assertEqual(c["execution_count"], b["execution_count"])
        _, d = self.w.exec("4")
        self.assertEqual(d["execution_count"], b["execution_count"] + 1)

    def test_no_result_for_statement_none_or_semicolon(self):
        for code in ("y = 1", "None", "1 + 1;", "print('x')"):
            _, r = self.w.exec(code)
            self.assertNotIn("result", r, code)

    def test_streams_in_order(self):
        code = ("import os, subprocess, sys\n"
                "print('one')\n"
                "os.write(1, b'two\\n')\n"
                "subprocess.run(['echo', 'three'])\n"
                "sys.stdout.write('four\\n')\n"
                "os.system('echo five')\n"
                "print('six')\n")
        events, r = self.w.exec(code)
        self.assertEqual(r["status"], "ok")
        self.assertEqual(stream_text(events), "one\ntwo\nthree\nfour\nfive\nsix\n")

    def test_stderr_stream_and_c_level(self):
        events, _ = self.w.exec("import sys, os\nprint('e1', file=sys.stderr)\n"
                                "os.write(2, b'e2\\n')")
        self.assertEqual(stream_text(events, "stderr"), "e1\ne2\n")

    def test_stderr_writes_keep_their_place_among_stdout_writes(self):
        code = ("import os, sys, warnings, logging\n"
                "print('out 1')\n"
                "print('err 1', file=sys.stderr)\n"
                "os.write(1, b'out 2\\n')\n"
                "warnings.warn('careful')\n"
                "print('out 3', end='')\n"
                "logging.getLogger('t').error('err 3')\n"
                "print(' and more')\n")
        events, r = self.w.exec(code)
        self.assertEqual(r["status"], "ok", r)
        segments = []
        for e in events:
            if e.get("event") != "stream":
                continue
            if segments and segments[-1][0] == e["name"]:
                segments[-1][1] += e["text"]
            else:
                segments.append([e["name"], e["text"]])
        self.assertEqual([n for n, _ in segments], ["stdout", "stderr", "stdout", "stderr", "stdout", "stderr", "stdout"],
                         segments)
        self.assertEqual(segments[0][1], "out 1\n")
        self.assertEqual(segments[2][1], "out 2\n")
        self.assertIn("UserWarning: careful", segments[3][1])
        self.assertEqual(segments[4][1], "out 3")
        self.assertEqual(segments[5][1], "err 3\n")
        self.assertEqual(segments[6][1], " and more\n")

    def test_a_loop_alternating_streams_loses_nothing_and_stays_batched(self):
        events, r = self.w.exec("import sys\nfor i in range(5000):\n    print(i)\n    print(-i, file=sys.stderr)")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(stream_text(events), "".join("%d\n" % i for i in range(5000)))
        self.assertEqual(stream_text(events, "stderr"), "".join("%d\n" % -i for i in range(5000)))
        # Exact interleaving for the first writes only (at most two events each), then
        # per stream and batched: far fewer events than the 20,000 writes.
        from pyctx_worker.capture import _ORDERED_WRITES
        self.assertLess(len(events), 2 * _ORDERED_WRITES + 500)

    def test_c_stdio_output_is_flushed_at_request_end(self):
        events, r = self.w.exec("import ctypes\nctypes.CDLL(None).printf(b'from C %d\\n', 7)")
        self.assertEqual(r["status"], "ok", r)
        self.assertIn("from C 7\n", stream_text(events))

    def test_batching_many_prints(self):
        events, r = self.w.exec("for i in range(10000):\n    print(i)")
        text = stream_text(events)
        self.assertEqual(text, "".join("%d\n" % i for i in range(10000)))
        self.assertLess(len(events), 200)  # batched, never a frame per line

    def test_stream_events_precede_reply_and_carry_id(self):
        rid = self.w.start("exec", code="print('late?')")
        events, reply = self.w.collect(rid)
        self.assertEqual(reply["id"], rid)
        self.assertTrue(all(e["id"] == rid for e in events))
        self.assertEqual(stream_text(events), "late?\n")

    def test_output_between_requests_goes_to_the_latest_request(self):
        _, r = self.w.exec("import threading, time\n"
                           "threading.Timer(0.3, lambda: print('late', flush=True)).start()")
        rid = self.w.next_id - 1
        ev = self.w.recv(timeout=10)  # arrives while no request runs
        self.assertEqual((ev["event"], ev["text"], ev["id"]), ("stream", "late\n", rid))

    def test_error_traceback_without_worker_frames(self):
        _, r = self.w.exec("def f():\n    raise ValueError('bad')\nf()")
        self.assertEqual(r["status"], "error")
        err = r["error"]
        self.assertEqual((err["ename"], err["evalue"]), ("ValueError", "bad"))
        tb = "\n".join(err["traceback"])
        self.assertIn("<cell-", tb)
        self.assertIn("raise ValueError('bad')", tb)
        self.assertNotIn("pyctx_worker", tb)

    def test_syntax_error(self):
        _, r = self.w.exec("x = = 1")
        self.assertEqual(r["status"], "error")
        self.assertEqual(r["error"]["ename"], "SyntaxError")
        self.assertNotIn("pyctx_worker", "\n".join(r["error"]["traceback"]))

    def test_system_exit_is_an_error_and_worker_survives(self):
        _, r = self.w.exec("import sys\nsys.exit(3)")
        self.assertEqual(r["status"], "error")
        self.assertEqual((r["error"]["ename"], r["error"]["evalue"]), ("SystemExit", "3"))
        self.assertEqual(self.w.value("eval", code="1+1"), 2)
        _, reply = self.w.request("eval", code="exit(4)")
        self.assertFalse(reply["ok"])
        self.assertEqual(reply["error"]["ename"], "SystemExit")
        self.assertIsNone(self.w.proc.poll())

    def test_eval_locals_and_errors(self):
        self.assertEqual(self.w.value("eval", code="a * b", locals={"a": 6, "b": 7}), 42)
        self.assertEqual(self.w.value("eval", code="[1, (2, 3), {'k': b'v'}]"),
                         [1, [2, 3], {"k": b"v"}])
        _, reply = self.w.request("eval", code="undefined_name")
        self.assertEqual(reply["error"]["code"], "python_error")
        self.assertEqual(reply["error"]["ename"], "NameError")
        _, reply = self.w.request("eval", code="x = 1")
        self.assertEqual(reply["error"]["ename"], "SyntaxError")

    def test_call(self):
        self.assertEqual(self.w.value("call", module="math", fn="sqrt", args=[16]), 4.0)
        self.assertEqual(self.w.value("call", module="os.path", fn="join", args=["a", "b"]),
                         "a" + os.sep + "b")
        self.assertEqual(self.w.value("call", module="builtins", fn="sorted", args=[[3, 1, 2]],
                                      kwargs={"reverse": True}), [3, 2, 1])
        self.w.exec("class K:\n    @staticmethod\n    def twice(v):\n        return 2 * v")
        self.assertEqual(self.w.value("call", module="__main__", fn="K.twice", args=[21]), 42)
        _, reply = self.w.request("call", module="no_such_module_xyz", fn="f")
        self.assertEqual(reply["error"]["ename"], "ModuleNotFoundError")

    def test_namespace_is_main_module_and_pickles(self):
        self.w.exec("import pickle, sys\nclass Point:\n    def __init__(self, x): self.x = x\n"
                    "blob = pickle.dumps(Point(5))")
        self.assertEqual(self.w.value("eval", code="pickle.loads(blob).x"), 5)
        self.assertEqual(self.w.value("eval", code="__name__"), "__main__")
        self.assertTrue(self.w.value("eval", code="sys.modules['__main__'].Point is Point"))
        blob = self.w.value("eval", code="blob")
        self.assertIsInstance(blob, bytes)
        self.assertIn(b"__main__", blob)
        self.assertTrue(pickle.loads.__name__)  # blob names __main__.Point, as Jupyter's do

    def test_configure_cwd_and_sys_path0(self):
        d = tempfile.mkdtemp(prefix="pyctx-test-")
        with open(os.path.join(d, "nbhelper_mod.py"), "w") as f:
            f.write("VALUE = 'from notebook folder'\n")
        self.assertIsNone(self.w.value("configure", cwd=d, sys_path0=d))
        self.assertEqual(os.path.realpath(self.w.value("eval", code="__import__('os').getcwd()")),
                         os.path.realpath(d))
        self.assertEqual(self.w.value("eval", code="__import__('sys').path[0]"), d)
        self.assertEqual(self.w.value("call", module="nbhelper_mod", fn="VALUE.upper"),
                         "FROM NOTEBOOK FOLDER")

    def test_stdin_is_not_the_protocol(self):
        _, r = self.w.exec("import sys\nsys.stdin.read()")
        self.assertEqual(r["result"]["data"]["text/plain"], "''")

    def test_ping_and_shutdown(self):
        w = WorkerProc(control=False)
        try:
            self.assertEqual(w.value("ping"), "pong")
            self.assertNotIn("control", w.value("hello")["capabilities"])
            self.assertIsNone(w.value("shutdown"))
            self.assertEqual(w.proc.wait(10), 0)
        finally:
            w.close()

    def test_exits_when_stdin_closes_despite_user_threads(self):
        w = WorkerProc()
        try:
            w.exec("import threading, time\n"
                   "threading.Thread(target=time.sleep, args=(600,)).start()")
            w.proc.stdin.close()
            self.assertEqual(w.proc.wait(10), 0)
        finally:
            w.close()

    def test_python_m_start(self):
        w = WorkerProc(control=False, args=["-m", "pyctx_worker"],
                       env={"PYTHONPATH": os.path.join(os.path.dirname(__file__), "..", "..",
                                                       "python")})
        try:
            self.assertEqual(w.value("eval", code="40 + 2"), 42)
        finally:
            w.close()

    def test_preload_errors_are_reported(self):
        w = WorkerProc(env={"PYCTX_PRELOAD": "json, no_such_mod_abc", "PYCTX_SESSION": "s1"})
        try:
            h = w.value("hello")
            self.assertEqual([e["module"] for e in h["preload_errors"]], ["no_such_mod_abc"])
            self.assertIn("ModuleNotFoundError", h["preload_errors"][0]["error"])
            self.assertEqual(h["session"], "s1")
            self.assertTrue(w.value("eval", code="'json' in __import__('sys').modules"))
        finally:
            w.close()

    def test_preload_output_goes_to_the_first_request(self):
        d = tempfile.mkdtemp(prefix="pyctx-test-")
        with open(os.path.join(d, "noisy_mod.py"), "w") as f:
            f.write("print('loading noisy')\n")
        w = WorkerProc(env={"PYCTX_PRELOAD": "noisy_mod", "PYTHONPATH": d})
        try:
            events, reply = w.request("hello")
            self.assertEqual(reply["value"]["preload_errors"], [])
            self.assertEqual(stream_text(events), "loading noisy\n")
            self.assertTrue(all(e["id"] == reply["id"] for e in events))
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
