"""Minimal IPython stand-in served by pyctx_worker when IPython is not installed.

Only what notebooks commonly import: IPython.display (display, HTML, Markdown,
Image, SVG, JSON, Latex, Javascript, Pretty, clear_output, update_display,
DisplayHandle) and get_ipython() (None: there is no interactive shell).
"""

from .display import display  # noqa: F401


def get_ipython():
    return None
