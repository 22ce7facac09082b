"""Rich output: mime bundles of results, display(), update_display, clear_output, IPython."""

import importlib.util
import unittest

from wclient import WorkerProc, stream_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

RICH = '''
class Rich:
    def _repr_html_(self): return "<b>hi</b>"
    def _repr_markdown_(self): return "**hi**"
    def _repr_svg_(self): return "<svg/>"
    def _repr_png_(self): return %r
    def _repr_json_(self): return {"a": [1, 2]}
    def __repr__(self): return "Rich()"
class Bundle:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": "<i>b</i>", "application/x-custom": "c"}, {"text/html": {"isolated": True}}
''' % PNG


def displays(events, kind="display"):
    return [e for e in events if e.get("event") == kind]


class DisplayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = WorkerProc()
        cls.w.exec(RICH)

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_result_mime_bundle(self):
        _, r = self.w.exec("Rich()")
        data = r["result"]["data"]
        self.assertEqual(data["text/plain"], "Rich()")
        self.assertEqual(data["text/html"], "<b>hi</b>")
        self.assertEqual(data["text/markdown"], "**hi**")
        self.assertEqual(data["image/svg+xml"], "<svg/>")
        self.assertEqual(data["image/png"], PNG)  # raw bytes, not base64
        self.assertIsInstance(data["image/png"], bytes)
        self.assertEqual(data["application/json"], {"a": [1, 2]})

    def test_mimebundle_with_metadata(self):
        _, r = self.w.exec("Bundle()")
        self.assertEqual(r["result"]["data"]["text/html"], "<i>b</i>")
        self.assertEqual(r["result"]["data"]["application/x-custom"], "c")
        self.assertIn("text/plain", r["result"]["data"])
        self.assertEqual(r["result"]["metadata"], {"text/html": {"isolated": True}})

    def test_display_builtin_in_order_with_prints(self):
        events, r = self.w.exec("print('before')\ndisplay(Rich(), 'plain')\nprint('after')")
        kinds = [(e["event"], e.get("text") or e.get("data", {}).get("text/plain"))
                 for e in events]
        self.assertEqual(kinds, [("stream", "before\n"), ("display", "Rich()"),
                                 ("display", "'plain'"), ("stream", "after\n")])
        self.assertEqual(displays(events)[0]["data"]["text/html"], "<b>hi</b>")
        self.assertNotIn("result", r)

    def test_display_handle_update_and_clear_output(self):
        events, _ = self.w.exec("h = display('v1', display_id=True)\nh.update('v2')\n"
                                "update_display('v3', display_id=h.display_id)\n"
                                "clear_output(wait=True)\n"
                                "from pyctx_worker.display import clear_output as co\nco()")
        d = displays(events)
        u = displays(events, "update_display")
        c = displays(events, "clear_output")
        self.assertEqual(len(d), 1)
        did = d[0]["transient"]["display_id"]
        self.assertTrue(did)
        self.assertEqual([x["data"]["text/plain"] for x in u], ["'v2'", "'v3'"])
        self.assertTrue(all(x["transient"]["display_id"] == did for x in u))
        self.assertEqual([x["wait"] for x in c], [True, False])

    def test_ipython_display_import(self):
        events, r = self.w.exec(
            "from IPython.display import display, HTML, Markdown, Image, clear_output\n"
            "display(HTML('<p>x</p>'))\ndisplay(Markdown('# t'))\n"
            "display(Image(data=%r))" % PNG)
        self.assertEqual(r["status"], "ok", r)
        d = displays(events)
        self.assertEqual(d[0]["data"]["text/html"], "<p>x</p>")
        self.assertEqual(d[1]["data"]["text/markdown"], "# t")
        self.assertEqual(d[2]["data"]["image/png"], PNG)

    def test_repr_failure_falls_back_to_text(self):
        _, r = self.w.exec("class Bad:\n    def _repr_html_(self): raise RuntimeError()\n"
                           "    def __repr__(self): return 'Bad!'\nBad()")
        self.assertEqual(r["result"]["data"], {"text/plain": "Bad!"})

    @unittest.skipUnless(importlib.util.find_spec("matplotlib"), "matplotlib not installed")
    def test_matplotlib_show_and_cell_end(self):
        events, r = self.w.exec("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n"
                                "plt.show()\nprint('between')\nplt.figure()\nplt.plot([3, 1])\n"
                                "None")
        self.assertEqual(r["status"], "ok", r)
        kinds = [e["event"] for e in events]
        self.assertEqual(kinds, ["display", "stream", "display"])
        for d in displays(events):
            self.assertTrue(d["data"]["image/png"].startswith(b"\x89PNG"))
        self.assertEqual(self.w.value("eval", code="len(plt.get_fignums())"), 0)
        self.assertIn("between", stream_text(events))


if __name__ == "__main__":
    unittest.main()
