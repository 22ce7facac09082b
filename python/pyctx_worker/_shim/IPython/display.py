"""IPython.display subset for the pyctx shim: display objects with _repr_*_ methods.

The functions are the worker's own (pyctx_worker.display); the classes hold data
or a file/url and expose it through the matching _repr_*_ method.
"""

import base64
import json as _json

from pyctx_worker.display import (  # noqa: F401
    DisplayHandle, clear_output, display, update_display)


class DisplayObject:
    _read_mode = "r"

    def __init__(self, data=None, url=None, filename=None, metadata=None):
        if data is not None and isinstance(data, str) and filename is None and url is None \
                and self._looks_like_path(data):
            filename, data = data, None
        self.data = data
        self.url = url
        self.filename = filename
        self.metadata = metadata
        if filename is not None and data is None:
            with open(filename, self._read_mode) as f:
                self.data = f.read()

    @staticmethod
    def _looks_like_path(s):
        return False

    def __repr__(self):
        return "<%s.%s object>" % (type(self).__module__, type(self).__name__)


class TextDisplayObject(DisplayObject):
    pass


class HTML(TextDisplayObject):
    def _repr_html_(self):
        return self.data


class Markdown(TextDisplayObject):
    def _repr_markdown_(self):
        return self.data


class Latex(TextDisplayObject):
    def _repr_latex_(self):
        return self.data


class Javascript(TextDisplayObject):
    def _repr_javascript_(self):
        return self.data


class SVG(DisplayObject):
    def _repr_svg_(self):
        return self.data


class Pretty(TextDisplayObject):
    def _repr_pretty_(self, p, cycle):
        return p.text(self.data)

    def __repr__(self):
        return str(self.data)


class JSON(DisplayObject):
    def __init__(self, data=None, url=None, filename=None, expanded=False, metadata=None,
                 root="root", **kwargs):
        if isinstance(data, str):
            data = _json.loads(data)
        super().__init__(data, url, filename, metadata)
        self.expanded = expanded
        self.root = root

    def _repr_json_(self):
        return self.data, {"expanded": self.expanded, "root": self.root}


class Image(DisplayObject):
    _read_mode = "rb"

    def __init__(self, data=None, url=None, filename=None, format=None, embed=None,
                 width=None, height=None, metadata=None, **kwargs):
        if isinstance(data, str) and filename is None and url is None:
            if data.startswith(("http://", "https://")):
                url, data = data, None
            else:
                filename, data = data, None
        super().__init__(data, url, filename, metadata)
        fmt = (format or "").lower()
        if not fmt and self.filename:
            fmt = self.filename.rsplit(".", 1)[-1].lower()
        if not fmt and isinstance(self.data, (bytes, bytearray)):
            fmt = "png" if bytes(self.data[:8]) == b"\x89PNG\r\n\x1a\n" else "jpeg"
        self.format = "jpeg" if fmt in ("jpg", "jpeg") else (fmt or "png")
        self.width = width
        self.height = height

    def _md(self):
        md = {}
        if self.width:
            md["width"] = self.width
        if self.height:
            md["height"] = self.height
        return md or None

    def _wrap(self, fmt):
        if self.data is None or self.format != fmt:
            return None
        data = self.data
        if isinstance(data, str):
            data = base64.b64decode(data)
        md = self._md()
        return (bytes(data), md) if md else bytes(data)

    def _repr_png_(self):
        return self._wrap("png")

    def _repr_jpeg_(self):
        return self._wrap("jpeg")

    def _repr_html_(self):
        if self.data is None and self.url:
            return '<img src="%s"/>' % self.url
        return None
