"""pyctx worker: one Python process serving the pyctx pool (standard library only).

Start it with stdin/stdout as the main channel (framed msgpack, see protocol.py and
src/protocol/wire.ts), stderr for its own diagnostics, and optionally fd 3 as a
bidirectional control socket (served by its own thread):

    python -c "import sys; sys.path.append('<repo>/python'); \
from pyctx_worker.__main__ import main; main()"
    PYTHONPATH=<repo>/python python -m pyctx_worker      # same; without fd 3: no control

Environment:
    PYCTX_MAX_FRAME_BYTES  largest frame accepted or sent (default 256 MiB); a frame
                           header over it is fatal: protocol_error reply, exit 76
    PYCTX_PRELOAD          comma-separated modules imported at start; failures are
                           reported in hello as preload_errors, never fatal
    PYCTX_SESSION          initial session id (default "default")
    PYCTX_CODEC=pure       force the pure-Python msgpack codec
    PYCTX_IPYTHON          auto (default): cells run through IPython's InteractiveShell
                           when IPython >= 7 is importable (shell/ipython.py); off: the
                           built-in standard-library layer (shell/builtin.py)
    MPLBACKEND             set to "agg" when unset

User-facing modules: pyctx_worker.display (display, update_display, clear_output)
and pyctx_worker.runtime (get_context()).
"""
