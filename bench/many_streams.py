#!/usr/bin/env python3
"""Holds many slow SSE streams open at once (python3 standard library only, asyncio).

usage: many_streams.py URL BODY_FILE N [PID] [TIMEOUT_S]
  extra request headers in env PROBE_HEADERS, one "Name: value" per line.

Opens N streaming POSTs concurrently (one connection each, `Connection: close`), reads each to
the end and checks it answered 200 and ended with `data: [DONE]`. When PID is given, samples
VmRSS of that process every 100 ms, and once more at the moment all N streams had received
their first event (all open at once). Prints one JSON line:
  n, ok (200 + [DONE]), statuses {code: count}, failures, max_open (most connections open at
  once), open_when_all_started (streams still open when the last one got its first event: N
  means all N were open at once), rss_all_open_kb (VmRSS at that moment), rss_peak_kb,
  elapsed_s
"""
import asyncio
import json
import os
import sys
import time
import urllib.parse


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Run:
    def __init__(self, n, pid):
        self.n = n
        self.pid = pid
        self.open = 0
        self.max_open = 0
        self.first_events = 0
        self.rss_all_open = None
        self.open_at_all_first = 0
        self.rss_peak = 0
        self.statuses = {}
        self.ok = 0
        self.failures = []

    def note_rss(self):
        if self.pid:
            r = rss_kb(self.pid)
            if r:
                self.rss_peak = max(self.rss_peak, r)
            return r
        return None


async def one(run, host, port, request):
    status = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        run.failures.append(f"connect: {e}")
        return
    run.open += 1
    run.max_open = max(run.max_open, run.open)
    try:
        writer.write(request)
        await writer.drain()
        line = await reader.readline()
        parts = line.split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        run.statuses[status] = run.statuses.get(status, 0) + 1
        first, done = False, False
        while True:
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                if not first:
                    first = True
                    run.first_events += 1
                    if run.first_events == run.n:
                        run.open_at_all_first = run.open
                        run.rss_all_open = run.note_rss()
                if line.strip() == b"data: [DONE]":
                    done = True
        if status == 200 and done:
            run.ok += 1
        else:
            run.failures.append(f"status {status}, done={done}")
    except (OSError, asyncio.IncompleteReadError, ValueError) as e:
        run.failures.append(f"status {status}: {type(e).__name__}: {e}")
    finally:
        run.open -= 1
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def sampler(run, stop):
    while not stop.is_set():
        run.note_rss()
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass


async def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    url, body_file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pid = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else None
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 300.0
    u = urllib.parse.urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("many_streams: loopback targets only")
    with open(body_file, "rb") as f:
        body = f.read()
    headers = [
        f"POST {u.path} HTTP/1.1",
        f"Host: {u.netloc}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    for line in os.environ.get("PROBE_HEADERS", "").splitlines():
        if ":" in line:
            headers.append(line.strip())
    request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
    run = Run(n, pid)
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler(run, stop))
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one(run, u.hostname, u.port or 80, request)) for _ in range(n)]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for t in pending:
        t.cancel()
    if pending:
        run.failures.extend(["timeout"] * len(pending))
    elapsed = time.perf_counter() - t0
    stop.set()
    await sampling
    print(json.dumps({
        "n": n,
        "ok": run.ok,
        "statuses": {str(k): v for k, v in sorted(run.statuses.items())},
        "failures": len(run.failures),
        "first_failures": run.failures[:3],
        "max_open": run.max_open,
        "open_when_all_started": run.open_at_all_first,
        "rss_all_open_kb": run.rss_all_open,
        "rss_peak_kb": run.rss_peak or None,
        "elapsed_s": round(elapsed, 2),
    }))


if __name__ == "__main__":
    asyncio.run(main())
