"""Import hooks: patch modules as they load, and the IPython shim.

- getpass: getpass.getpass() asks the pool (input_request, password=True).
- asyncio: the worker's persistent loop becomes the current loop.
- matplotlib.pyplot: plt.show() renders figures inline (display events).
- IPython.display / IPython.core.display_functions (the real IPython, which has
  no running InteractiveShell here): display/update_display/clear_output are
  routed to ours, so `from IPython.display import display` shows rich output.
  Not in IPython mode: there the real shell's display publisher serves them.
- When IPython is not installed at all, a finder placed LAST on sys.meta_path
  serves pyctx_worker/_shim/IPython, so `from IPython.display import display,
  HTML, Markdown, Image, clear_output` still works. Being last, it never
  shadows a real installation.
"""

import os
import sys

from . import display as _display
from . import execution as _execution

_PATCHES = {
    "asyncio": _execution.adopt_asyncio,
    "getpass": None,  # set by the worker: getpass.getpass -> input_request
    "matplotlib.pyplot": _display.patch_pyplot,
    "IPython.display": _display.patch_ipython_display,
    "IPython.core.display_functions": _display.patch_ipython_display,
    "IPython.core.display": _display.patch_ipython_display,
}
_SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim")


class _PatchingLoader:
    def __init__(self, loader, patch):
        self.loader = loader
        self.patch = patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        try:
            self.patch(module)
        except Exception:
            pass

    def __getattr__(self, name):  # get_source, is_package... for tracebacks and pkgutil
        return getattr(self.loader, name)


class PatchFinder:
    """First on sys.meta_path: wraps the loaders of the modules we patch."""

    def find_spec(self, name, path=None, target=None):
        patch = _PATCHES.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


class ShimFinder:
    """Last on sys.meta_path: the IPython shim, only when no real IPython exists."""

    def find_spec(self, name, path=None, target=None):
        if name != "IPython" and not name.startswith("IPython."):
            return None
        import importlib.util
        parts = name.split(".")
        base = os.path.join(_SHIM_DIR, *parts)
        if os.path.isdir(base):
            return importlib.util.spec_from_file_location(
                name, os.path.join(base, "__init__.py"), submodule_search_locations=[base])
        if os.path.isfile(base + ".py"):
            return importlib.util.spec_from_file_location(name, base + ".py")
        return None


def install(patch_getpass, real_ipython=False):
    _PATCHES["getpass"] = patch_getpass
    if real_ipython:  # IPython mode: its shell publishes displays; leave its modules be
        for name in [n for n in _PATCHES if n.startswith("IPython.")]:
            del _PATCHES[name]
        if "matplotlib_inline" in os.environ.get("MPLBACKEND", ""):
            del _PATCHES["matplotlib.pyplot"]  # the inline backend's show() is the real one
    sys.meta_path.insert(0, PatchFinder())
    sys.meta_path.append(ShimFinder())
    # Modules already imported before the worker started (preload) get patched now.
    for name, patch in _PATCHES.items():
        mod = sys.modules.get(name)
        if mod is not None:
            try:
                patch(mod)
            except Exception:
                pass
