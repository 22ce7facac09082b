"""Top-level await, runtime context isolation, and input()/getpass round trips."""

import importlib.util
import unittest

from wclient import WorkerTestCase, stream_text


class AsyncRuntimeContextTest(WorkerTestCase):
    def test_top_level_await(self):
        _, r = self.w.exec("import asyncio\nawait asyncio.sleep(0.01)\nv = await asyncio.sleep(0, 7)\nv * 6")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["result"]["data"]["text/plain"], "42")

    def test_tasks_survive_across_cells(self):
        self.w.exec("import asyncio\nticks = []\nasync def ticker():\n"
                    "    for i in range(3):\n        ticks.append(i)\n        await asyncio.sleep(0.01)\n"
                    "    return 'done'\n"
                    "task = asyncio.get_event_loop().create_task(ticker())")
        _, r = self.w.exec("await task")
        self.assertEqual(r["result"]["data"]["text/plain"], "'done'")
        self.assertEqual(self.w.value("eval", code="ticks"), [0, 1, 2])

    def test_get_context_in_and_outside_requests(self):
        self.w.exec("from pyctx_worker.runtime import get_context")
        v = self.w.value("eval", code="get_context().get('tenant')",
                         runtime_context={"tenant": "acme", "n": 1})
        self.assertEqual(v, "acme")
        self.assertEqual(self.w.value("eval", code="get_context().get('missing', 'dflt')",
                                      runtime_context={"tenant": "acme"}), "dflt")
        # nothing leaks into the next request
        self.assertIsNone(self.w.value("eval", code="get_context()"))
        # read-only
        _, r = self.w.exec("get_context()['x'] = 1", runtime_context={"a": 1})
        self.assertEqual(r["error"]["ename"], "TypeError")
        events, r = self.w.exec("print(get_context()['cell_index'])",
                                runtime_context={"cell_index": 3})
        self.assertEqual(stream_text(events), "3\n")

    def test_tasks_keep_the_context_they_were_created_with(self):
        self.w.exec("import asyncio\nfrom pyctx_worker.runtime import get_context\n"
                    "async def seen():\n    await asyncio.sleep(0.05)\n"
                    "    return get_context().get('tenant')\n"
                    "loop = asyncio.get_event_loop()\n"
                    "task_a = loop.create_task(seen())", runtime_context={"tenant": "A"})
        _, r = self.w.exec("task_b = asyncio.create_task(seen())\n"
                           "await asyncio.gather(task_a, task_b)",
                           runtime_context={"tenant": "B"})
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["result"]["data"]["text/plain"], "['A', 'B']")
        # interleaved scopes inside one cell each see their own value
        _, r = self.w.exec(
            "from pyctx_worker import runtime\n"
            "async def scope(name, delay):\n"
            "    runtime._current.set(runtime.types.MappingProxyType({'tenant': name}))\n"
            "    await asyncio.sleep(delay)\n"
            "    return get_context().get('tenant')\n"
            "await asyncio.gather(scope('x', 0.03), scope('y', 0.01))")
        self.assertEqual(r["result"]["data"]["text/plain"], "['x', 'y']")
        self.assertIsNone(self.w.value("eval", code="get_context()"))


class InputTest(WorkerTestCase):
    def _answer(self, code, **answer):
        rid = self.w.start("exec", code=code)
        seen = []

        def on_event(ev):
            if ev["event"] == "input_request":
                seen.append(ev)
                self.w.send(dict({"id": rid, "op": "input_reply"}, **answer))
        events, reply = self.w.collect(rid, on_event=on_event)
        return seen, events, reply["value"]

    def test_input_reply(self):
        seen, events, r = self._answer("print('pre')\nname = input('Name? ')\nname.upper()",
                                       value="ada")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["result"]["data"]["text/plain"], "'ADA'")
        self.assertEqual(seen[0]["prompt"], "Name? ")
        self.assertFalse(seen[0]["password"])
        self.assertEqual(events[0]["event"], "stream")  # output before the prompt goes first

    def test_getpass(self):
        seen, _, r = self._answer("import getpass\ngetpass.getpass('pw: ')", value="s3cret")
        self.assertTrue(seen[0]["password"])
        self.assertEqual(r["result"]["data"]["text/plain"], "'s3cret'")

    def test_cancel_raises_keyboard_interrupt(self):
        _, _, r = self._answer("input('x')", cancelled=True)
        self.assertEqual(r["status"], "error")
        self.assertEqual(r["error"]["ename"], "KeyboardInterrupt")
        self.assertEqual(self.w.value("eval", code="1+1"), 2)

    def test_unavailable_front_end_raises_stdin_not_implemented(self):
        _, _, r = self._answer("input('x')", cancelled=True, unavailable=True)
        self.assertEqual(r["status"], "error")
        self.assertEqual(r["error"]["ename"], "StdinNotImplementedError")
        self.assertEqual(r["error"]["evalue"], "raw_input was called, but this frontend "
                         "does not support input requests.")
        # a NotImplementedError (as IPython's is), catchable by user code; getpass too
        _, _, r = self._answer("import getpass\ntry:\n    getpass.getpass()\n"
                               "except NotImplementedError as e:\n    caught = type(e).__name__\n"
                               "caught", cancelled=True, unavailable=True)
        self.assertEqual(r["result"]["data"]["text/plain"], "'StdinNotImplementedError'")
        self.assertEqual(self.w.value("eval", code="1+2"), 3)

    @unittest.skipUnless(importlib.util.find_spec("IPython") is not None, "IPython not installed")
    def test_unavailable_uses_ipythons_class_once_loaded(self):
        _, _, r = self._answer("from IPython.core.error import StdinNotImplementedError as E\n"
                               "try:\n    input()\nexcept E:\n    ok = True\nok",
                               cancelled=True, unavailable=True)
        self.assertEqual(r["result"]["data"]["text/plain"], "True", r)

    def test_sigint_while_waiting_for_input(self):
        rid = self.w.start("exec", code="input('never answered')")
        ev = self.w.recv()
        self.assertEqual(ev["event"], "input_request")
        self.w.interrupt()
        _, reply = self.w.collect(rid)
        self.assertEqual(reply["value"]["error"]["ename"], "KeyboardInterrupt")
        self.assertEqual(self.w.value("eval", code="2+2"), 4)

    def test_input_outside_exec_and_stray_reply(self):
        _, reply = self.w.request("eval", code="input()")
        self.assertEqual(reply["error"]["ename"], "EOFError")
        _, reply = self.w.request("input_reply", value="nobody asked")
        self.assertEqual(reply["error"]["code"], "protocol_error")


if __name__ == "__main__":
    unittest.main()
