#!/usr/bin/python3
"""A person browsing stoa's web pages at a steady, bounded rate (S1's page-load case).

  bench/browse.py BASE_URL RATE PATH...

GETs the paths in turn over one keep-alive connection, RATE requests a second at most (paced
against the start time, so a slow answer is not made up by a burst), until SIGTERM; then prints
one JSON line: {"requests": N, "seconds": S, "bad": M} (M: answers other than 200, and
connection errors). The harness starts it pinned to the load core, beside wrk.
"""

import http.client
import json
import signal
import sys
import time
import urllib.parse

stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


def main():
    base, rate, paths = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    u = urllib.parse.urlsplit(base)
    signal.signal(signal.SIGTERM, on_term)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    n = bad = 0
    t0 = time.monotonic()
    while not stop:
        try:
            conn.request("GET", paths[n % len(paths)])
            r = conn.getresponse()
            r.read()
            bad += r.status != 200
        except (OSError, http.client.HTTPException):
            bad += 1
            conn.close()
        n += 1
        wait = t0 + n / rate - time.monotonic()
        if wait > 0 and not stop:
            time.sleep(wait)  # pacing, not synchronization
    print(json.dumps({"requests": n, "seconds": time.monotonic() - t0, "bad": bad}), flush=True)


if __name__ == "__main__":
    main()
