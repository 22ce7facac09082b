"""Output printed right before os._exit() reaches the pool before the process dies;
a fatal signal leaves faulthandler's report on the real stderr, and hello names the
capture pipes' read ends so the pool can recover what a crash left in them."""

import os
import signal
import sys
import unittest

from wclient import WorkerProc, stream_text


def run_until_exit(w, code):
    """Start an exec, collect frames until the worker closes its channel; (events, rc)."""
    w.start("exec", code=code)
    events = []
    while True:
        try:
            events.append(w.recv(timeout=20))
        except EOFError:
            break
    return events, w.proc.wait(10)


class ExitOutputTest(unittest.TestCase):
    def setUp(self):
        self.w = WorkerProc()

    def tearDown(self):
        self.w.close()

    def test_flushed_print_then_os_exit(self):
        events, rc = run_until_exit(self.w, "import os\nprint('last words', flush=True)\nos._exit(3)")
        self.assertEqual(rc, 3)
        self.assertEqual(stream_text(events), "last words\n")
        self.assertTrue(all(e.get("event") == "stream" for e in events), events)

    def test_unflushed_and_raw_fd_output_then_os_exit(self):
        events, rc = run_until_exit(
            self.w, "import os, sys\nos.write(2, b'raw err\\n')\n"
                    "sys.stdout.write('no newline')\nos._exit(5)")
        self.assertEqual(rc, 5)
        self.assertEqual(stream_text(events), "no newline")
        self.assertEqual(stream_text(events, "stderr"), "raw err\n")

    def test_os_exit_from_a_thread(self):
        events, rc = run_until_exit(
            self.w, "import os, threading, time\n"
                    "def bye():\n    print('from thread')\n    os._exit(4)\n"
                    "threading.Thread(target=bye).start()\ntime.sleep(30)")
        self.assertEqual(rc, 4)
        self.assertEqual(stream_text(events), "from thread\n")

    def test_forked_child_exits_without_touching_the_channel(self):
        _, r = self.w.exec("import os\nprint('parent')\npid = os.fork()\n"
                           "if pid == 0:\n    os._exit(9)\n"
                           "os.waitpid(pid, 0)[1] >> 8")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["result"]["data"]["text/plain"], "9")
        self.assertEqual(self.w.value("eval", code="6 * 7"), 42)


if __name__ == "__main__":
    unittest.main()


class FatalSignalTest(unittest.TestCase):
    def setUp(self):
        self.w = WorkerProc()

    def tearDown(self):
        self.w.close()

    def test_segfault_reports_the_cell_line_on_real_stderr(self):
        self.w.value("hello")
        self.w.start("exec", code="import ctypes\n\nctypes.string_at(0)")
        self.assertEqual(self.w.proc.wait(20), -signal.SIGSEGV)
        text = os.read(self.w.proc.stderr.fileno(), 1 << 16).decode()
        self.assertIn("Fatal Python error: Segmentation fault", text)
        self.assertRegex(text, r'File "<cell-1>", line 3 in <module>')

    @unittest.skipUnless(sys.platform.startswith("linux"), "/proc")
    def test_hello_names_the_capture_read_ends(self):
        fds = self.w.value("hello")["capture_fds"]
        self.assertEqual(sorted(fds), ["stderr", "stdout"])
        for name, fd in fds.items():
            link = os.readlink("/proc/%d/fd/%d" % (self.w.proc.pid, fd))
            self.assertTrue(link.startswith("pipe:"), (name, link))
        # They are the pipes fds 1 and 2 write into.
        self.assertEqual(os.readlink("/proc/%d/fd/%d" % (self.w.proc.pid, fds["stdout"])),
                         os.readlink("/proc/%d/fd/1" % self.w.proc.pid))
        self.assertEqual(os.readlink("/proc/%d/fd/%d" % (self.w.proc.pid, fds["stderr"])),
                         os.readlink("/proc/%d/fd/2" % self.w.proc.pid))
