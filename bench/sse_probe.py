#!/usr/bin/env python3
"""Times SSE streams event by event (python3 standard library only).

usage: sse_probe.py URL BODY_FILE N PACE_MS
  extra request headers in env PROBE_HEADERS, one "Name: value" per line.

Sends N streaming requests one after another over one keep-alive connection and prints one
JSON line (times in microseconds):
  ttfe_p50_us / ttfe_p99_us   request sent -> first `data:` event
  total_p50_us                request sent -> `data: [DONE]`
  gap_over_pace_p50_us / _max_us
                              per stream, the largest gap between two consecutive events minus
                              PACE_MS (what the path added to the worst gap); p50 and max over
                              the N streams
  events_p50, n (streams that ended with [DONE] after a 200), errors
"""
import http.client
import json
import os
import sys
import time
import urllib.parse


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int((len(values) - 1) * q))]


def connect(u):
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    url, body_file, n, pace_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    u = urllib.parse.urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("sse_probe: loopback targets only")
    with open(body_file, "rb") as f:
        body = f.read()
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    for line in os.environ.get("PROBE_HEADERS", "").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip()] = v.strip()
    path = u.path + ("?" + u.query if u.query else "")
    pace_us = pace_ms * 1000.0
    conn = connect(u)
    ttfe, total, gap_over, events, errors = [], [], [], [], 0
    for _ in range(n):
        try:
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            if resp.status != 200:
                resp.read()
                errors += 1
                continue
            stamps, done = [], None
            while True:
                line = resp.readline()
                if not line:
                    break
                if line.startswith(b"data:"):
                    now = time.perf_counter()
                    stamps.append(now)
                    if line.strip() == b"data: [DONE]":
                        done = now
            resp.read()
            if not stamps or done is None:
                errors += 1
                continue
            ttfe.append((stamps[0] - t0) * 1e6)
            total.append((done - t0) * 1e6)
            gaps = [(b - a) * 1e6 for a, b in zip(stamps, stamps[1:])]
            gap_over.append((max(gaps) - pace_us) if gaps else 0.0)
            events.append(len(stamps))
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = connect(u)
    conn.close()
    print(json.dumps({
        "n": len(ttfe),
        "errors": errors,
        "ttfe_p50_us": pct(ttfe, 0.5),
        "ttfe_p99_us": pct(ttfe, 0.99),
        "total_p50_us": pct(total, 0.5),
        "gap_over_pace_p50_us": pct(gap_over, 0.5),
        "gap_over_pace_max_us": max(gap_over) if gap_over else None,
        "events_p50": pct(events, 0.5),
    }))


if __name__ == "__main__":
    main()
