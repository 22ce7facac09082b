"""Floor of the pool benchmark (bench/pool.bench.ts): the barest Node<->Python
round trip with the same framing and codec as the worker (4-byte length + one
msgpack map, pyctx_worker.codec), answering every request with {id, ok, value: 2}
and doing nothing else. Usage: python pool-floor-echo.py <python dir>."""
import os
import sys

sys.path.append(sys.argv[1])
from pyctx_worker import codec  # noqa: E402

packb, unpackb = codec.packb, codec.unpackb
buf = bytearray()
while True:
    while len(buf) < 4:
        chunk = os.read(0, 65536)
        if not chunk:
            sys.exit(0)
        buf += chunk
    n = int.from_bytes(buf[:4], "big")
    while len(buf) < 4 + n:
        chunk = os.read(0, 65536)
        if not chunk:
            sys.exit(0)
        buf += chunk
    req = unpackb(bytes(buf[4:4 + n]))
    del buf[:4 + n]
    body = packb({"id": req["id"], "ok": True, "value": 2})
    os.write(1, len(body).to_bytes(4, "big") + body)
