"""Time to first result of ipykernel driven by jupyter_client, the reference for
bench/first-result (run with Debian's /usr/bin/python3, which has ipykernel and
jupyter_client). For each run: start a fresh kernel, execute `1+1`, wait for its
execute_result (first result, measured from start_kernel), then execute `1+1`
again on the same kernel (second cell). Prints one JSON object:
{"first_ms": [...], "second_ms": [...]}.
Usage: python3 ipykernel_first_result.py [RUNS]
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def wait_result(kc, msg_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            return msg["content"]["data"]["text/plain"]
        if msg["msg_type"] == "error":
            raise RuntimeError(msg["content"]["evalue"])


def one_run():
    t0 = time.perf_counter()
    # The native kernel spec runs ipykernel with this same interpreter.
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        assert wait_result(kc, kc.execute("1+1")) == "2"
        first = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        assert wait_result(kc, kc.execute("1+1")) == "2"
        second = (time.perf_counter() - t1) * 1000
        return first, second
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    firsts, seconds = [], []
    for _ in range(runs):
        f, s = one_run()
        firsts.append(round(f, 2))
        seconds.append(round(s, 2))
    print(json.dumps({"first_ms": firsts, "second_ms": seconds, "python": sys.executable}))


if __name__ == "__main__":
    main()
