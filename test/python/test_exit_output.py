"""Output printed right before os._exit() reaches the pool before the process dies."""

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
