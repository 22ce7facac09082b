"""Magics, shell escapes and `?` help: the transform (pure) and the handlers on a
real worker. IPython's output formats are checked against nbconvert by the Node
equivalence test (test/fixtures/magics.ipynb); here: what that cannot cover."""

import os
import signal
import sys
import tempfile
import time
import unittest

from pyctx_worker.magics import format_time, transform
from wclient import WorkerProc, WorkerTestCase, stream_text

try:
    import matplotlib  # noqa: F401
    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False

M = "__pyctx_magics__"


class TransformTest(unittest.TestCase):
    def test_plain_python_is_untouched(self):
        for src in ("x = 1", "a = b % c", "if a != b:\n    pass", "d = {'k': '%s' % 1}", "print('!?')",
                    "x = 5 # what?", "s = '%d' % 3"):
            self.assertEqual(transform(src), src)

    def test_magic_shell_assign_and_help_lines(self):
        self.assertEqual(transform("%time f(1)"), "%s.line('time', 'f(1)')" % M)
        self.assertEqual(transform("  !ls -l"), "  %s.system('ls -l')" % M)
        self.assertEqual(transform("out = !ls"), "out = %s.getoutput('ls')" % M)
        self.assertEqual(transform("a, b = %who_ls"), "a, b = %s.line('who_ls', '')" % M)
        self.assertEqual(transform("len?"), "%s.help('len', 1)" % M)
        self.assertEqual(transform("os.path.join??"), "%s.help('os.path.join', 2)" % M)
        self.assertEqual(transform("?len"), "%s.help('len', 1)" % M)

    def test_only_where_a_statement_starts(self):
        src = "x = (1\n%2)\ns = '''\n!not a command\n%neither\n'''\ny = [\n    1,\n]\n!echo yes"
        out = transform(src).split("\n")
        self.assertEqual(out[:8], src.split("\n")[:8])
        self.assertEqual(out[-1], "%s.system('echo yes')" % M)
        cont = "total = 1 + \\\n%2\n"
        self.assertEqual(transform(cont), cont)

    def test_cell_magic_keeps_the_line_count(self):
        src = "\n%%time\na = 1\nb = 2"
        out = transform(src)
        self.assertEqual(out.count("\n"), src.count("\n"))
        self.assertIn("%s.cell('time', '', 'a = 1\\nb = 2\\n', 3)" % M, out)
        # %% later in a cell is not a cell magic (as in IPython): Python reports it
        self.assertEqual(transform("x = 1\n%%time"), "x = 1\n%%time")

    def test_format_time_like_ipython(self):
        self.assertEqual(format_time(1.5e-6), "1.5 \xb5s")
        self.assertEqual(format_time(0.0123), "12.3 ms")
        self.assertEqual(format_time(0), "0 ns")
        self.assertEqual(format_time(125), "2min 5s")


class MagicsOnWorkerTest(WorkerTestCase):
    def run_ok(self, code):
        events, r = self.w.exec(code)
        self.assertEqual(r["status"], "ok", r)
        return events, r

    def usage_error(self, code):
        """As IPython: a UsageError is one line on stderr, the cell failed, no error output."""
        events, r = self.w.exec(code)
        self.assertEqual(r["status"], "error")
        self.assertNotIn("error", r)
        return stream_text(events, "stderr")

    def test_unknown_magic_is_a_usage_error_without_traceback_noise(self):
        self.assertEqual(self.usage_error("%nosuchmagic 1\nprint('not reached')"),
                         "UsageError: Line magic function `%nosuchmagic` not found.\n")
        self.assertIn("did you mean that instead", self.usage_error("%%pwd\nx"))

    def test_time_shows_the_value_and_the_cell_line_of_an_error(self):
        events, r = self.run_ok("%time 6 * 7")
        self.assertEqual(r["result"]["data"]["text/plain"], "42")
        self.assertRegex(stream_text(events), r"^CPU times: user .+, sys: .+, total: .+\nWall time: .+\n$")
        _, r = self.w.exec("%%time\nx = 1\n1/0")
        self.assertEqual(r["error"]["ename"], "ZeroDivisionError")
        tb = "\n".join(r["error"]["traceback"])
        self.assertRegex(tb, r'File "<cell-\d+>", line 3')
        self.assertNotIn("magics.py", tb)

    def test_timeit_options_and_result_object(self):
        events, r = self.run_ok("res = %timeit -n 5 -r 3 -o sum(range(100))\nres.loops, res.repeat")
        self.assertEqual(r["result"]["data"]["text/plain"], "(5, 3)")
        self.assertRegex(stream_text(events), r" \xb1 .+ per loop \(mean \xb1 std\. dev\. of 3 runs, 5 loops each\)\n$")
        events, _ = self.run_ok("%%timeit -n 2 -r 1 base = 10\nbase ** 2")
        self.assertIn("of 1 run, 2 loops each", stream_text(events))

    def test_help_shows_signature_and_docstring(self):
        events, r = self.run_ok("def f(a, b=2):\n    'Adds.'\n    return a + b\nf?")
        text = stream_text(events)
        self.assertIn("Signature: f(a, b=2)", text)
        self.assertIn("Docstring: Adds.", text)
        events, _ = self.run_ok("f??")
        self.assertIn("return a + b", stream_text(events))
        events, _ = self.run_ok("nothing_here?")
        self.assertEqual(stream_text(events), "Object `nothing_here` not found.\n")

    def test_cd_and_pwd_and_exit_code(self):
        _, before = self.run_ok("%pwd")
        d = os.path.realpath(tempfile.mkdtemp())
        events, r = self.run_ok("%cd " + d + "\n%pwd")
        self.assertEqual(stream_text(events), d + "\n")
        self.assertEqual(r["result"]["data"]["text/plain"], repr(d))
        self.run_ok("import os\nos.chdir(%s)" % before["result"]["data"]["text/plain"])
        _, r = self.run_ok("!exit 3\n_exit_code")
        self.assertEqual(r["result"]["data"]["text/plain"], "3")

    def test_shell_expansion_sees_function_locals(self):
        events, r = self.run_ok("g = 'global'\ndef f(x):\n    !echo {x} $g\n    out = !echo {x * 2}\n    return out\nf(21)")
        self.assertEqual(stream_text(events), "21 global\n")
        self.assertEqual(r["result"]["data"]["text/plain"], "['42']")

    def test_run_executes_a_script_into_the_namespace(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "script.py")
        with open(path, "w") as f:
            f.write("import sys\nfrom_script = sys.argv[1:]\nprint('ran', __name__)\n")
        events, r = self.run_ok("%run " + path + " a b\nfrom_script")
        self.assertEqual(stream_text(events), "ran __main__\n")
        self.assertEqual(r["result"]["data"]["text/plain"], "['a', 'b']")

    def test_autoreload_reloads_a_changed_module_before_the_cell(self):
        d = tempfile.mkdtemp()
        mod = os.path.join(d, "pyctx_ar_mod.py")
        with open(mod, "w") as f:
            f.write("VALUE = 1\n")
        self.run_ok("import sys\nsys.path.insert(0, %r)\n%%load_ext autoreload\n%%autoreload 2\nimport pyctx_ar_mod" % d)
        time.sleep(0.01)
        with open(mod, "w") as f:
            f.write("VALUE = 2  # changed\n")
        os.utime(mod, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        _, r = self.run_ok("pyctx_ar_mod.VALUE")
        self.assertEqual(r["result"]["data"]["text/plain"], "2")
        self.run_ok("%autoreload 0")
        with open(mod, "w") as f:
            f.write("VALUE = 3\n")
        os.utime(mod, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
        _, r = self.run_ok("pyctx_ar_mod.VALUE")
        self.assertEqual(r["result"]["data"]["text/plain"], "2", "off: not reloaded")
        self.assertIn("UsageError", self.usage_error("%load_ext some_extension"))

    def test_capture_keeps_streams_shell_output_and_displays_aside(self):
        events, _ = self.run_ok("%%capture out\nprint('hidden')\nimport sys\nprint('err', file=sys.stderr)\n"
                                "!echo from the shell\ndisplay('shown later')\n6 * 7")
        self.assertEqual([e for e in events if e.get("event") in ("stream", "display")], [])
        _, r = self.run_ok("out.stdout, out.stderr, len(out.outputs)")
        self.assertEqual(r["result"]["data"]["text/plain"], "('hidden\\nfrom the shell\\n', 'err\\n', 2)")
        events, _ = self.run_ok("out()")
        self.assertEqual(stream_text(events), "hidden\nfrom the shell\n")
        self.assertEqual([e["data"]["text/plain"] for e in events if e.get("event") == "display"], ["'shown later'", "42"])
        events, _ = self.run_ok("%%capture --no-stderr\nimport sys\nprint('gone')\nprint('shown', file=sys.stderr)")
        self.assertEqual((stream_text(events), stream_text(events, "stderr")), ("", "shown\n"))
        # Output after the capture is sent as usual.
        events, _ = self.run_ok("print('after')")
        self.assertEqual(stream_text(events), "after\n")

    def test_matplotlib_inline_is_accepted_and_gui_backends_refused(self):
        self.run_ok("%matplotlib inline")
        self.assertIn("UsageError", self.usage_error("%matplotlib qt"))


class ShellInterruptTest(unittest.TestCase):
    def test_interrupt_stops_the_shell_command_too(self):
        w = WorkerProc()
        try:
            w.value("hello")
            rid = w.start("exec", code="print('go', flush=True)\n!sleep 30")
            deadline = time.time() + 10
            seen = []
            while "go\n" not in stream_text(seen) and time.time() < deadline:
                seen.append(w.recv(10))
            time.sleep(0.3)  # the shell is running now
            t0 = time.time()
            os.kill(w.proc.pid, signal.SIGINT)
            events, reply = w.collect(rid)
            self.assertLess(time.time() - t0, 5)
            self.assertEqual(reply["value"]["error"]["ename"], "KeyboardInterrupt")
            _, r = w.exec("1 + 1")
            self.assertEqual(r["result"]["data"]["text/plain"], "2")
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()


class JupyterFidelityBuiltinTest(WorkerTestCase):
    """Issue 15, section 2: the built-in layer's cheap fixes (no IPython involved)."""

    def run_ok(self, code):
        events, r = self.w.exec(code)
        self.assertEqual(r["status"], "ok", r)
        return events, r

    def test_semicolon_before_a_trailing_comment_silences_the_result(self):
        _, r = self.run_ok("1 + 1;  # quiet")
        self.assertNotIn("result", r)
        _, r = self.run_ok("x = 'a;b'  # not quiet\nx")
        self.assertEqual(r["result"]["data"]["text/plain"], "'a;b'")

    def test_file_cell_magic_writes_and_automagic_cat_ls_pwd_cd(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "f.txt")
        events, _ = self.run_ok("%%%%file %s\nhello\n" % path)
        self.assertEqual(stream_text(events), "Writing %s\n" % path)
        events, _ = self.run_ok("cat %s" % path)
        self.assertEqual(stream_text(events), "hello\n")
        events, _ = self.run_ok("ls %s" % d)
        self.assertIn("f.txt", stream_text(events))
        events, _ = self.run_ok("cd %s" % d)
        self.assertEqual(stream_text(events), os.path.realpath(d) + "\n")
        _, r = self.run_ok("pwd")
        self.assertEqual(r["result"]["data"]["text/plain"], repr(os.path.realpath(d)))
        _, r = self.run_ok("pwd = 5\npwd")  # a variable of that name wins, as in IPython
        self.assertEqual(r["result"]["data"]["text/plain"], "5")
        self.run_ok("del pwd")

    def test_reload_ext_xmode_and_unknown_magic(self):
        self.run_ok("%reload_ext autoreload")
        events, _ = self.run_ok("%xmode Minimal")
        self.assertEqual(stream_text(events), "Exception reporting mode: Minimal\n")
        _, r = self.w.exec("def f():\n    1/0\nf()")
        self.assertEqual(r["error"]["traceback"], ["ZeroDivisionError: division by zero"])
        self.run_ok("get_ipython().run_line_magic('xmode', 'Context')")
        _, r = self.w.exec("f()")
        self.assertGreater(len(r["error"]["traceback"]), 2)

    def test_prun_prints_cprofile_stats(self):
        events, _ = self.run_ok("%prun sum(range(10))")
        text = stream_text(events)
        self.assertIn("function calls in", text)
        self.assertIn("Ordered by: internal time", text)

    def test_sys_last_exception_is_set_after_an_error(self):
        self.w.exec("raise KeyError('k')")
        _, r = self.run_ok("import sys; (sys.last_type.__name__, repr(sys.last_value), sys.last_traceback is not None)")
        self.assertEqual(r["result"]["data"]["text/plain"], "('KeyError', \"KeyError('k')\", True)")

    def test_get_ipython_is_a_small_notebook_front_end(self):
        _, r = self.run_ok("ip = get_ipython()\n"
                           "ip.events.register('post_execute', lambda: print('post'))\n"
                           "ip.user_ns['seen'] = 1\n"
                           "import os\n"
                           "('IPKernelApp' in ip.config, 'zmq' in str(type(ip)).lower(), seen, "
                           "ip.run_line_magic('pwd', '') == os.getcwd())")
        self.assertEqual(r["result"]["data"]["text/plain"], "(True, True, 1, True)")
        try:
            events, _ = self.run_ok("2")
            self.assertEqual(stream_text(events), "post\n")
        finally:
            self.run_ok("ip.events.callbacks['post_execute'].clear()")
        events, _ = self.run_ok("ip.run_cell_magic('writefile', %r, 'x\\n')" % os.path.join(tempfile.mkdtemp(), "w.txt"))
        self.assertIn("Writing", stream_text(events))

    @unittest.skipUnless(HAVE_MPL, "matplotlib is not importable")
    def test_figures_follow_the_result_in_the_configured_format(self):
        self.run_ok("%config InlineBackend.figure_format = 'retina'\nimport matplotlib.pyplot as plt")
        events, r = self.run_ok("plt.plot([1, 2])")
        self.assertIn("Line2D", r["result"]["data"]["text/plain"])
        self.assertEqual([e for e in events if e.get("event") == "display"], [])
        (fig,) = r["after_result"]
        self.assertTrue(fig["data"]["image/png"].startswith(b"\x89PNG"))
        self.assertEqual(sorted(fig["metadata"]["image/png"]), ["height", "width"])
        events, r = self.run_ok("%config InlineBackend.figure_formats = ['svg']\nplt.plot([1]);  # c")
        self.assertNotIn("result", r)
        (shown,) = [e for e in events if e.get("event") == "display"]
        self.assertIn("<svg", shown["data"]["image/svg+xml"])
        self.assertNotIn("image/png", shown["data"])
        self.run_ok("%config InlineBackend.figure_format = 'png'")
