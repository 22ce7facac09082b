"""Running user code: cell compilation, top-level await, interrupts, tracebacks.

A cell is split into its statements and a trailing expression (the result), both
compiled with PyCF_ALLOW_TOP_LEVEL_AWAIT; code objects flagged as coroutines run
on one persistent event loop, so tasks a cell creates live on in later cells.

SIGINT raises KeyboardInterrupt only inside user_code() (the `running` flag);
anywhere else (between requests, while a reply is written) it is dropped, so an
interrupt racing the end of a request cannot leak into the next one.
"""

import os
try:  # the C module: same functions, without signal.py importing enum (start time)
    import _signal as signal
except ImportError:  # pragma: no cover
    import signal
import sys
import threading

_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (ast, traceback: lazy)
_ONLY_AST = 0x400  # ast.PyCF_ONLY_AST
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE (inspect and asyncio load lazily: start time)
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_ASYNCIO_DIR = os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "asyncio")


class _State:
    running = False  # True only while user code runs on the main thread
    shield = 0       # >0 while the main thread writes a frame: interrupts wait
    pending = False  # an interrupt arrived while shielded


state = _State()
main_thread_id = threading.main_thread().ident


def _on_sigint(signum, frame):
    if state.running:
        if state.shield:
            state.pending = True  # never cut a frame in half; raised by unshield()
            return
        raise KeyboardInterrupt()


class Shield:
    """Context for writing a frame from the main thread: defers KeyboardInterrupt."""

    def __enter__(self):
        if threading.get_ident() == main_thread_id:
            state.shield += 1
            return True
        return False

    def __exit__(self, *exc):
        if threading.get_ident() != main_thread_id:
            return False
        state.shield -= 1
        if not state.shield and state.pending:
            state.pending = False
            if state.running and exc[0] is None:
                raise KeyboardInterrupt()
        return False


shield = Shield()


def install_sigint():
    signal.signal(signal.SIGINT, _on_sigint)


def interrupt_main():
    """Interrupt the main thread from another thread (control channel)."""
    try:
        signal.pthread_kill(main_thread_id, signal.SIGINT)  # also wakes a blocking syscall
    except (AttributeError, OSError):
        import _thread
        _thread.interrupt_main()


_loop = None


def event_loop():
    """The worker's persistent loop, also set as the main thread's current loop."""
    global _loop
    import asyncio
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def adopt_asyncio(module=None):
    """asyncio was just imported: make our loop the main thread's current one, so
    asyncio.get_event_loop() in a plain cell returns the loop await-cells run on."""
    if _loop is None and threading.current_thread() is threading.main_thread():
        event_loop()


def run_code(code, globals_, locals_=None):
    """exec/eval code; a coroutine code object runs on the persistent loop."""
    if code.co_flags & _CO_COROUTINE:
        coro = eval(code, globals_, locals_)
        loop = event_loop()
        if loop.is_running():  # nested (e.g. user called us from a running loop)
            raise RuntimeError("top-level await is not possible while the loop runs")
        return loop.run_until_complete(coro)
    return eval(code, globals_, locals_)


def user_code(fn, *args):
    """Run fn(*args) as user code: SIGINT becomes KeyboardInterrupt only in here."""
    try:
        state.pending = False
        state.running = True
        return fn(*args)
    finally:
        state.running = False


# ---------------------------------------------------------------- compiling cells

_cell_serial = 0


_registered = []  # cell filenames in linecache, oldest first (bounded: pool runs many)


def register_source(filename, source):
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    _registered.append(filename)
    if len(_registered) > 2000:
        for old in _registered[:1000]:
            linecache.cache.pop(old, None)
        del _registered[:1000]


RESULT_NAME = "_pyctx_cell_result_"


def compile_cell(source, execution_count):
    """One code object for the cell; a trailing expression is assigned to RESULT_NAME.

    Compiled as a whole (not statements + expression) so a cell with top-level
    await runs entirely inside one coroutine: create_task() before the await sees
    the running loop.
    """
    global _cell_serial
    import ast
    import linecache
    _cell_serial += 1
    filename = "<cell-%d>" % (execution_count if execution_count else _cell_serial)
    if filename in linecache.cache:
        filename = "<cell-%d.%d>" % (execution_count, _cell_serial)
    register_source(filename, source)  # the cell as written: tracebacks show its lines
    from .magics import transform  # %magics, !shell, obj? -> calls, line for line
    tree = compile(transform(source), filename, "exec", _ONLY_AST | _TOP_LEVEL_AWAIT,
                   dont_inherit=True)
    has_result = False
    if tree.body and isinstance(tree.body[-1], ast.Expr) and \
            not ends_with_semicolon(source):  # a trailing ';' silences it, as in Jupyter
        last = tree.body[-1]
        assign = ast.Assign(targets=[ast.Name(id=RESULT_NAME, ctx=ast.Store())],
                            value=last.value)
        ast.copy_location(assign, last)
        tree.body[-1] = assign
        ast.fix_missing_locations(tree)
        has_result = True
    return compile(tree, filename, "exec", _TOP_LEVEL_AWAIT, dont_inherit=True), has_result


def ends_with_semicolon(source):
    """Is the last token of the cell (comments aside) a ';'? IPython's test."""
    text = source.rstrip()
    if text.endswith(";"):
        return True
    if "#" not in text or ";" not in text:
        return False
    import io
    import tokenize
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False
    skip = (tokenize.ENDMARKER, tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
            tokenize.DEDENT, tokenize.INDENT)
    for tok in reversed(tokens):
        if tok.type in skip:
            continue
        return tok.type == tokenize.OP and tok.string == ";"
    return False


_eval_cache = {}


def compile_eval(source):
    code = _eval_cache.get(source)
    if code is None:
        if len(_eval_cache) > 1024:
            _eval_cache.clear()
        code = compile(source, "<eval>", "eval", _TOP_LEVEL_AWAIT, dont_inherit=True)
        _eval_cache[source] = code
    return code


# ---------------------------------------------------------------- errors

def _internal(tb):
    fn = tb.tb_frame.f_code.co_filename
    return fn.startswith(_PKG_DIR) or fn.startswith(_ASYNCIO_DIR)


def _user_frames(tb):
    """The traceback chain without the worker's own frames, wherever they are:
    above the cell (the request loop), between the cell and code it runs (a magic,
    asyncio for top-level await) and at the end (a magic raising, the SIGINT
    handler). What is left is the user's code, as IPython shows it."""
    kept = []
    while tb is not None:
        if not _internal(tb):
            kept.append(tb)
        tb = tb.tb_next
    for a, b in zip(kept, kept[1:]):
        a.tb_next = b
    if kept:
        kept[-1].tb_next = None
    return kept[0] if kept else None


XMODES = ("Plain", "Context", "Verbose", "Minimal")
xmode = "Context"  # %xmode: Minimal shows only the exception line, as IPython's


def error_content(exc):
    """{ename, evalue, traceback: [lines]} with the worker's own frames removed."""
    import traceback
    from .magics import UsageError
    if isinstance(exc, UsageError):  # as IPython: the message only
        return {"ename": "UsageError", "evalue": str(exc), "traceback": ["UsageError: %s" % exc]}
    if xmode == "Minimal":
        lines = [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
        return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": lines}
    tb = _user_frames(exc.__traceback__)
    try:
        te = traceback.TracebackException(type(exc), exc, tb, compact=True)
    except TypeError:  # Python < 3.10 has no compact
        te = traceback.TracebackException(type(exc), exc, tb)
    lines = [line.rstrip("\n") for line in te.format()]
    return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": lines}
