"""Rich display for cells: mime bundles, display(), update_display(), clear_output().

Importable as `pyctx_worker.display` (and installed as builtins by the worker).
format_bundle() turns an object into a Jupyter mime bundle from its _repr_*_
methods (text/plain from IPython's pretty printer, pretty.py); binary types
(image/png, image/jpeg, application/pdf) are bytes, text types str. Events go through `_sink`, which the worker sets to a function that
sends them for the running request after the pending stream output; outside a
worker display() falls back to printing text/plain. Matplotlib figures are
rendered by flush_figures() (plt.show() and cell end).
"""

import os

from .protocol import Event

_sink = None  # set by the worker: callable(event_dict)

_BINARY = {"image/png", "image/jpeg", "application/pdf"}
_REPR_METHODS = (
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_svg_", "image/svg+xml"),
    ("_repr_png_", "image/png"),
    ("_repr_jpeg_", "image/jpeg"),
    ("_repr_latex_", "text/latex"),
    ("_repr_json_", "application/json"),
    ("_repr_javascript_", "application/javascript"),
    ("_repr_pdf_", "application/pdf"),
)


def _method(obj, name):
    if isinstance(obj, type):
        return None  # classes define _repr_*_ for their instances, not for themselves
    try:
        m = getattr(obj, name, None)
    except Exception:
        return None
    return m if callable(m) else None


def _norm_value(mime, value):
    """Binary mime values as bytes, text ones as str, JSON as plain data."""
    if mime in _BINARY:
        if isinstance(value, str):
            import base64
            return base64.b64decode(value)
        return bytes(value)
    if mime == "application/json" or mime.endswith("+json"):
        import json
        if isinstance(value, (str, bytes)):
            return json.loads(value)
        return json.loads(json.dumps(value, default=repr))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _put(data, metadata, mime, result):
    if result is None:
        return
    md = None
    if isinstance(result, tuple) and len(result) == 2:
        result, md = result
        if result is None:
            return
    try:
        data[mime] = _norm_value(mime, result)
    except Exception:
        return
    if md:
        metadata[mime] = md


FIGURE_FORMATS = ("png", "retina", "svg", "jpeg", "pdf")
figure_formats = {"png"}  # %config InlineBackend.figure_format(s)


def _render(fig, fmt, dpi):
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _figure_bundle(fig, metadata=None):
    """The figure's bundle in the configured formats (matplotlib_inline's choices:
    retina is a double-resolution PNG shown at half its pixel size)."""
    w, h = fig.get_size_inches()
    data = {"text/plain": "<Figure size %gx%g with %d Axes>" % (w * fig.dpi, h * fig.dpi,
                                                                len(fig.axes))}
    formats = figure_formats
    if "png" in formats:
        data["image/png"] = _render(fig, "png", fig.dpi)
    if "retina" in formats:
        png = _render(fig, "png", fig.dpi * 2)
        data["image/png"] = png
        if metadata is not None and png[12:16] == b"IHDR":
            import struct
            pw, ph = struct.unpack(">II", png[16:24])
            metadata["image/png"] = {"width": pw // 2, "height": ph // 2}
    if "svg" in formats:
        data["image/svg+xml"] = _render(fig, "svg", fig.dpi).decode("utf-8")
    if "jpeg" in formats:
        data["image/jpeg"] = _render(fig, "jpeg", fig.dpi)
    if "pdf" in formats:
        data["application/pdf"] = _render(fig, "pdf", fig.dpi)
    return data


def _is_figure(obj):
    t = type(obj)
    return t.__module__ == "matplotlib.figure" and t.__name__ == "Figure"


# Types whose IPython text/plain is exactly repr(): no need to load pretty.py for them.
_REPR_TYPES = frozenset((int, float, str, bytes, bool, type(None), complex))


def text_plain(obj):
    """Jupyter's text/plain for obj (IPython's pretty printer, see pretty.py)."""
    if type(obj) in _REPR_TYPES:
        try:
            return repr(obj)
        except Exception as e:  # e.g. int above sys.get_int_max_str_digits()
            return "<unrepresentable %s: %s>" % (type(obj).__name__, e)
    from . import pretty  # loaded on the first container/object result (start time)
    return pretty.text_plain(obj)


def format_bundle(obj, include=None, exclude=None):
    """(data, metadata) mime bundle for obj; text/plain is always present."""
    data, metadata = {}, {}
    if _is_figure(obj):
        try:
            data = _figure_bundle(obj, metadata)
        except Exception:
            data = {}
    m = _method(obj, "_repr_mimebundle_")
    if m is not None:
        try:
            r = m(include=include, exclude=exclude)
        except TypeError:
            try:
                r = m()
            except Exception:
                r = None
        except Exception:
            r = None
        if isinstance(r, tuple) and len(r) == 2:
            r, md = r
            if isinstance(md, dict):
                metadata.update(md)
        if isinstance(r, dict):
            for mime, v in r.items():
                _put(data, metadata, mime, v)
    for name, mime in _REPR_METHODS:
        if mime in data:
            continue
        m = _method(obj, name)
        if m is None:
            continue
        try:
            _put(data, metadata, mime, m())
        except Exception:
            continue
    if "text/plain" not in data:
        data["text/plain"] = text_plain(obj)
    if include:
        data = {k: v for k, v in data.items() if k in include or k == "text/plain"}
    if exclude:
        data = {k: v for k, v in data.items() if k not in exclude}
    return data, metadata


def _new_id():
    return os.urandom(16).hex()


def _send(event):
    if _sink is None:
        if event.get("event") in (Event.DISPLAY, Event.UPDATE_DISPLAY):
            print(event["data"].get("text/plain", ""))
        return
    _sink(event)


class DisplayHandle:
    """Handle on one display output; update() replaces it in place."""

    def __init__(self, display_id=None):
        self.display_id = display_id or _new_id()

    def __repr__(self):
        return "<DisplayHandle display_id=%s>" % self.display_id

    def display(self, obj, **kwargs):
        display(obj, display_id=self.display_id, **kwargs)

    def update(self, obj, **kwargs):
        update_display(obj, display_id=self.display_id, **kwargs)


def _bundle(obj, raw, include, exclude, metadata):
    """(data, metadata) of one display: a raw mime dict as given, else obj's formatted bundle."""
    if raw:
        data, md = {k: _norm_value(k, v) for k, v in obj.items()}, {}
    else:
        data, md = format_bundle(obj, include, exclude)
    if metadata:
        md.update(metadata)
    return data, md


def display(*objs, include=None, exclude=None, metadata=None, transient=None,
            display_id=None, raw=False, clear=False, **kwargs):
    """Show objects as rich outputs of the running cell (Jupyter's display())."""
    if clear:
        clear_output(wait=True)
    if display_id is True:
        display_id = _new_id()
    trans = dict(transient or {})
    if display_id:
        trans["display_id"] = display_id
    for obj in objs:
        data, md = _bundle(obj, raw, include, exclude, metadata)
        ev = {"event": Event.DISPLAY, "data": data, "metadata": md}
        if trans:
            ev["transient"] = trans
        _send(ev)
    if display_id:
        return DisplayHandle(display_id)
    return None


def update_display(obj, *, display_id, include=None, exclude=None, metadata=None,
                   transient=None, raw=False, **kwargs):
    """Replace the output shown under display_id."""
    data, md = _bundle(obj, raw, include, exclude, metadata)
    trans = dict(transient or {})
    trans["display_id"] = display_id
    _send({"event": Event.UPDATE_DISPLAY, "data": data, "metadata": md, "transient": trans})


def clear_output(wait=False):
    """Clear the running cell's outputs (wait=True: when the next output arrives)."""
    _send({"event": Event.CLEAR_OUTPUT, "wait": bool(wait)})


# ---------------------------------------------------------------- matplotlib

def flush_figures():
    """Send every open pyplot figure as image/png and close it."""
    import sys
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        nums = plt.get_fignums()
    except Exception:
        return
    for num in nums:
        try:
            fig = plt.figure(num)
            md = {}
            _send({"event": Event.DISPLAY, "data": _figure_bundle(fig, md), "metadata": md})
        except Exception:
            pass
    try:
        plt.close("all")
    except Exception:
        pass


def _show(*args, **kwargs):
    flush_figures()


def patch_pyplot(module):
    """Called right after matplotlib.pyplot is imported: plt.show() renders inline."""
    module.show = _show


def patch_ipython_display(module):
    """Route the real IPython's display functions to ours (no InteractiveShell here)."""
    for name, fn in (("display", display), ("update_display", update_display),
                     ("clear_output", clear_output)):
        if hasattr(module, name):
            setattr(module, name, fn)
