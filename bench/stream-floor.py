"""Floor of the stream benchmark (bench/stream.bench.ts): the same printing loop as
the pool's cell, written to a bare pipe. Each line of stdin is a request
("batch" or "line"): print(i) for i in range(N) into a text stream on a fresh
duplicate of fd 1 with a 64 KiB buffer ("batch": the bare-pipe floor) or line
buffering ("line": what a terminal-like stdout costs), then one NUL byte marks
the end. Usage: python stream-floor.py N."""
import io
import os
import sys

n = int(sys.argv[1])
for req in sys.stdin:
    fd = os.dup(1)
    line = req.strip() == "line"
    raw = io.FileIO(fd, "w", closefd=True)
    out = io.TextIOWrapper(io.BufferedWriter(raw, 65536), encoding="utf-8", line_buffering=line)
    for i in range(n):
        print(i, file=out)
    out.write("\0")
    out.close()
