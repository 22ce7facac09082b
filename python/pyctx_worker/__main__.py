"""Entry point: `python -m pyctx_worker`, or `from pyctx_worker.__main__ import main; main()`."""

import os
import sys


def main():
    # First: a SIGINT racing the start-up must not kill the worker.
    from .execution import install_sigint
    install_sigint()
    # Look at fd 3 before any dup() can take that number.
    from .worker import Worker, control_fd_present
    control = control_fd_present()
    # fd 2 becomes a capture pipe once the worker starts; keep the real stderr for
    # fatal diagnostics so a crashed worker says why.
    diag_fd = os.dup(2)
    try:
        worker = Worker(diag_fd, control)
        worker.serve()
        worker._exit()  # the pool closed stdin: exit now, without waiting for user threads
    except BaseException:
        import traceback
        text = "[pyctx_worker %d] fatal:\n%s" % (os.getpid(), traceback.format_exc())
        try:
            os.write(diag_fd, text.encode("utf-8", "replace"))
        except OSError:
            pass
        os._exit(70)
    sys.exit(0)


if __name__ == "__main__":
    main()
