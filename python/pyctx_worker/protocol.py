"""Wire protocol names shared with the Node pool.

Mirror of src/protocol/wire.ts: every op, event, error code and constant that
crosses the pipe lives here and nowhere else on the Python side. Read the framing
and channel rules in wire.ts. test/unit/protocol-mirror checks both files agree.
"""

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024
CONTROL_FD = 3
# Under a launcher (no fd 3): a control request on the main channel carries this
# field set to true, and the worker's in-band reader thread answers it (inband.py).
CONTROL_MARK = "control"
INBAND_ENV = "PYCTX_INBAND"


class Op:
    HELLO = "hello"
    CONFIGURE = "configure"
    EXEC = "exec"
    EVAL = "eval"
    CALL = "call"
    METHOD = "method"
    ATTR = "attr"
    INPUT_REPLY = "input_reply"
    STATS = "stats"
    REFS_LIST = "refs.list"
    REFS_RELEASE = "refs.release"
    REFS_STATS = "refs.stats"
    SESSION_RELEASE = "session.release"
    COMPLETE = "complete"
    INSPECT = "inspect"
    INTERRUPT = "interrupt"
    PING = "ping"
    SHUTDOWN = "shutdown"


CONTROL_OPS = (
    Op.STATS, Op.REFS_LIST, Op.REFS_STATS, Op.COMPLETE, Op.INSPECT, Op.INTERRUPT, Op.PING,
)


class Event:
    STREAM = "stream"
    DISPLAY = "display"
    UPDATE_DISPLAY = "update_display"
    CLEAR_OUTPUT = "clear_output"
    INPUT_REQUEST = "input_request"


class ErrorCode:
    PYTHON_ERROR = "python_error"
    INTERRUPTED = "interrupted"
    REF_NOT_FOUND = "ref_not_found"
    SESSION_MISMATCH = "session_mismatch"
    INVALID_REF = "invalid_ref"
    FRAME_TOO_LARGE = "frame_too_large"
    PROTOCOL_ERROR = "protocol_error"


REF_TYPE = "ref"
REF_SCHEMA = 1
