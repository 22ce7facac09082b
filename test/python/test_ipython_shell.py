"""IPython mode: cells run by a real InteractiveShell inside the worker.

Skipped when the interpreter under test has no IPython >= 7 (the pyenv python3
may, Debian's /usr/bin/python3 has 8.5). Real worker process, real framing.
"""

import os
import re
import unittest

from wclient import WorkerProc, stream_text

try:
    import IPython
    HAVE_IPYTHON = IPython.version_info[0] >= 7
except ImportError:
    HAVE_IPYTHON = False
try:
    import matplotlib_inline  # noqa: F401
    import matplotlib  # noqa: F401
    HAVE_INLINE = True
except ImportError:
    HAVE_INLINE = False

SLOW = 180  # seconds: generous, never a timing assertion
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(lines):
    return ANSI.sub("", "\n".join(lines))


@unittest.skipUnless(HAVE_IPYTHON, "IPython >= 7 is not importable by this interpreter")
class IPythonShellTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = WorkerProc(env={"PYCTX_IPYTHON": "auto", "MPLBACKEND": ""})
        # IPython is imported while the worker starts: seconds, more on a loaded machine.
        cls.w.request("hello", timeout=SLOW)

    def x(self, code, **fields):
        """exec with room for a loaded machine (imports of IPython, matplotlib)."""
        return self.w.exec(code, timeout=SLOW, **fields)

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_hello_reports_the_ipython_shell(self):
        hello = self.w.value("hello")
        self.assertEqual(hello["shell"], "ipython")
        self.assertEqual(hello["ipython_version"], IPython.__version__)
        ev, r = self.x("import IPython; IPython.__file__")
        self.assertNotIn("_shim", r["result"]["data"]["text/plain"])  # the real one, never the shim

    def test_result_carries_execution_count_and_output_history(self):
        _, r = self.x("[1, 2] * 2")
        n = r["execution_count"]
        self.assertEqual(r["result"]["data"]["text/plain"], "[1, 2, 1, 2]")
        _, r = self.x("(_, _%d is Out[%d], In[%d])" % (n, n, n))
        self.assertEqual(r["result"]["data"]["text/plain"], "([1, 2, 1, 2], True, '[1, 2] * 2')")

    def test_semicolon_before_a_trailing_comment_silences_the_result(self):
        _, r = self.x("1 + 1;  # quiet")
        self.assertNotIn("result", r)

    def test_traceback_is_ipythons_with_colours(self):
        _, r = self.x("def f():\n    return 1 / 0\nf()")
        self.assertEqual(r["status"], "error")
        tb = r["error"]["traceback"]
        self.assertTrue(any("\x1b[" in line for line in tb))
        text = plain(tb)
        self.assertRegex(text, r"Cell In ?\[%d\], line 3" % r["execution_count"])
        self.assertNotIn("pyctx_worker", text)
        self.assertEqual(r["error"]["ename"], "ZeroDivisionError")
        _, r = self.x("import sys; (sys.last_type.__name__, type(sys.last_value).__name__, sys.last_traceback is not None)")
        self.assertEqual(r["result"]["data"]["text/plain"], "('ZeroDivisionError', 'ZeroDivisionError', True)")

    def test_xmode_minimal_through_get_ipython(self):
        _, r = self.x("get_ipython().run_line_magic('xmode', 'Minimal')")
        _, r = self.x("1 / 0")
        self.assertEqual(plain(r["error"]["traceback"]).strip(), "ZeroDivisionError: division by zero")
        self.x("%xmode Context")

    def test_unknown_magic_is_stderr_text_and_the_cell_fails(self):
        events, r = self.x("%no_such_magic\nprint('not reached')")
        self.assertEqual(r["status"], "error")
        self.assertNotIn("error", r)
        self.assertIn("UsageError: Line magic function `%no_such_magic` not found.", stream_text(events, "stderr"))
        self.assertNotIn("not reached", stream_text(events))

    def test_get_ipython_looks_like_a_kernel_to_libraries(self):
        _, r = self.x("ip = get_ipython()\n('IPKernelApp' in ip.config, 'zmq' in str(type(ip)).lower(), "
                           "ip.kernel is not None, ip is __import__('IPython').get_ipython())")
        self.assertEqual(r["result"]["data"]["text/plain"], "(True, True, True, True)")

    def test_magics_automagic_and_load_ext(self):
        events, r = self.x("pwd")
        self.assertEqual(r["result"]["data"]["text/plain"], repr(os.getcwd()))
        events, r = self.x("%load_ext autoreload\n%reload_ext autoreload\n%autoreload 2\n%who_ls")
        self.assertEqual(r["status"], "ok", r)

    def test_display_objects_and_update_display_natively(self):
        events, r = self.x("from IPython.display import HTML, display\n"
                                "h = display(HTML('<b>a</b>'), display_id=True)\nh.update(HTML('<i>b</i>'))")
        kinds = [(e["event"], e["data"].get("text/html")) for e in events if e.get("event") != "stream"]
        self.assertEqual(kinds, [("display", "<b>a</b>"), ("update_display", "<i>b</i>")])
        did = [e["transient"]["display_id"] for e in events if e.get("event") == "display"][0]
        self.assertTrue(did)
        events, r = self.x("from IPython.display import clear_output; clear_output(wait=True)")
        self.assertEqual([e["event"] for e in events], ["clear_output"])

    def test_top_level_await_runs_on_the_workers_loop(self):
        _, r = self.x("import asyncio\nt = asyncio.get_event_loop().create_task(asyncio.sleep(0, 'x'))\nawait t")
        self.assertEqual(r["result"]["data"]["text/plain"], "'x'")

    def test_history_is_listed_apart_and_released_with_the_variable(self):
        _, r = self.x("big = list(range(1000))\nbig")
        n = r["execution_count"]
        listed = self.w.value("refs.list")
        history = [x for x in listed if x["kind"] == "history"]
        self.assertIn("out:%d" % n, [x["id"] for x in history])
        self.assertNotIn("var:Out", [x["id"] for x in listed])  # the shell's own names are not variables
        self.assertNotIn("var:get_ipython", [x["id"] for x in listed])
        ref = {"__type__": "ref", "__schema__": 1, "id": "var:big", "session_id": "default"}
        released = self.w.value("refs.release", ref=ref)
        self.assertEqual(released["released"], True)
        self.assertIn("Out[%d]" % n, released["history_released"])
        _, r = self.x("(%d in Out, '_%d' in globals(), _ is big if 'big' in globals() else _ == '')" % (n, n))
        self.assertEqual(r["result"]["data"]["text/plain"], "(False, False, True)")

    def test_history_entry_released_alone(self):
        _, r = self.x("'abc' * 3")
        n = r["execution_count"]
        ref = {"__type__": "ref", "__schema__": 1, "id": "out:%d" % n, "session_id": "default"}
        self.assertEqual(self.w.value("refs.release", ref=ref), {"released": True})
        _, r = self.x("%d in Out" % n)
        self.assertEqual(r["result"]["data"]["text/plain"], "False")

    def test_input_goes_through_the_pool(self):
        rid = self.w.start("exec", code="input('name? ')")
        m = self.w.recv(SLOW)
        self.assertEqual(m.get("event"), "input_request")
        self.assertEqual(m["prompt"], "name? ")
        self.w.send({"op": "input_reply", "value": "ada"})
        _, r = self.w.collect(rid, timeout=SLOW)
        self.assertEqual(r["value"]["result"]["data"]["text/plain"], "'ada'")

    def test_interrupt_stops_the_cell_and_the_shell_goes_on(self):
        import time
        rid = self.w.start("exec", code="import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.01)")
        m = self.w.recv(SLOW)
        self.assertEqual(m.get("text"), "looping\n")
        time.sleep(0.2)
        self.w.interrupt()
        _, r = self.w.collect(rid, timeout=SLOW)
        err = r["value"]["error"]
        self.assertEqual(err["ename"], "KeyboardInterrupt")
        self.assertNotIn("pyctx_worker", plain(err["traceback"]))
        _, r = self.x("21 * 2")
        self.assertEqual(r["result"]["data"]["text/plain"], "42")

    def test_eval_keeps_its_direct_path(self):
        _, r = self.w.request("eval", code="1+1", timeout=SLOW)
        self.assertEqual(r["value"], 2)

    @unittest.skipUnless(HAVE_INLINE, "matplotlib_inline is not importable")
    def test_retina_figure_comes_after_the_result(self):
        self.x("%config InlineBackend.figure_format = 'retina'")
        events, r = self.x("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])")
        self.assertIn("Line2D", r["result"]["data"]["text/plain"])
        self.assertEqual([e for e in events if e.get("event") == "display"], [])
        after = r["after_result"]
        self.assertEqual(len(after), 1)
        self.assertTrue(after[0]["data"]["image/png"].startswith(b"\x89PNG"))
        self.assertIn("width", after[0]["metadata"]["image/png"])  # retina: half the pixel size
        events, r = self.x("plt.plot([1, 2]);  # no result")
        self.assertNotIn("result", r)
        self.assertEqual(len([e for e in events if e.get("event") == "display"]), 1)


@unittest.skipUnless(HAVE_IPYTHON, "IPython >= 7 is not importable by this interpreter")
class IPythonOffTest(unittest.TestCase):
    def test_off_keeps_the_builtin_layer(self):
        w = WorkerProc(env={"PYCTX_IPYTHON": "off"})
        try:
            _, reply = w.request("hello", timeout=SLOW)
            hello = reply["value"]
            self.assertEqual(hello["shell"], "builtin")
            self.assertIsNone(hello["ipython_version"])
            _, r = w.exec(timeout=SLOW, code="'IPython.core.interactiveshell' in __import__('sys').modules")
            self.assertEqual(r["result"]["data"]["text/plain"], "False")
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
