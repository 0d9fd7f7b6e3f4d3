#!/usr/bin/python3
"""The web pages' search over a large index: server CPU per search as a ratio to a stored .info.

  bench/ui_search.py [--stoa build/release/stoa] [--versions 100000] [--requests 2000]

Starts stoa (ui = true, disk store, SQLite index, an upstream that is never asked) in a temporary directory, puts
--versions rows in its index (10 versions per module) and one stored .info, warms the page cache
of the catalog, then sends --requests requests of each kind (ten times as many .info requests) over one keep-alive connection and
reads the stoa process's CPU time (utime + stime, /proc/<pid>/stat) before and after each batch:

  info          GET /<module>/@v/v1.0.0.info (a stored file, from memory)
  search-prefix GET /search?q=example.com/m12       (a prefix matching 1/10 of the modules)
  search-substr GET /search?q=zz9                    (a substring found in a few paths)
  search-none   GET /search?q=nothing-matches-this   (a full pass, no result)
  home          GET /                                (totals and recent additions)

Prints CPU microseconds per request and the ratio to `info`. Then the protocol beside the pages:
the .info requests' wall-clock latency (median, 99th percentile) alone, and again while two
other connections load the home page and searches without pause. The catalog is reloaded from the
index at most every 10 s, so a batch longer than that includes a reload (amortized over the
requests of those 10 s; the reload's own cost is printed too). Run it on an idle machine: the
ratio is what it measures, not a wall-clock time.
"""

import argparse
import http.client
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc):
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"stoa exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("stoa did not become healthy")


def batch(conn, path, n, pid):
    before = cpu_seconds(pid)
    start = time.monotonic()
    for _ in range(n):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit(f"GET {path}: {r.status} {body[:200]!r}")
    return (cpu_seconds(pid) - before) / n, (time.monotonic() - start) / n


def latencies(conn, path, n):
    out = []
    for _ in range(n):
        start = time.monotonic()
        conn.request("GET", path)
        conn.getresponse().read()
        out.append(time.monotonic() - start)
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stoa", default="build/asan/stoa")
    ap.add_argument("--versions", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=2000)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stoa-ui-bench-"))
    data = work / "data"
    port = free_port()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    proc = subprocess.Popen(
        [a.stoa, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data),
         "--upstream", "http://127.0.0.1:9", "--sumdb", "off", "--ui=true", "--access-log=false",
         "--log-level", "warn"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(work / "stoa.log", "w"))
    try:
        wait_healthy(port, proc)
        db = sqlite3.connect(data / ".stoa-state" / "index.sqlite", timeout=30)
        t0 = time.time_ns()
        rows = []
        for i in range(a.versions):
            m = f"example.com/m{i // 10}" + ("/zz9" if i % 5000 == 0 else "")
            rows.append((m, f"v1.0.{i % 10}", "h1:x", "h1:y", 1000, t0 + i, "bench"))
        db.executemany("INSERT OR IGNORE INTO stoa_versions (module, version, zip_h1, mod_h1, "
                       "zip_size, stored_ns, origin) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        db.close()
        info = data / "example.com" / "bench" / "@v" / "v1.0.0.info"
        info.parent.mkdir(parents=True)
        info.write_text('{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}')
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        before = cpu_seconds(proc.pid)
        conn.request("GET", "/search?q=warm")  # the first catalog load
        conn.getresponse().read()
        print(f"catalog load of {a.versions} versions: "
              f"{(cpu_seconds(proc.pid) - before) * 1e3:.0f} ms CPU")
        kinds = [
            ("info", "/example.com/bench/@v/v1.0.0.info"),
            ("search-prefix", "/search?q=example.com%2Fm12"),
            ("search-substr", "/search?q=zz9"),
            ("search-none", "/search?q=nothing-matches-this"),
            ("home", "/"),
        ]
        base = None
        for name, path in kinds:
            n = a.requests * (10 if name == "info" else 1)  # CPU time is counted in ticks
            batch(conn, path, min(50, n), proc.pid)  # warm
            cpu, wall = batch(conn, path, n, proc.pid)
            base = base or cpu
            print(f"{name:14} {cpu * 1e6:9.0f} us CPU/request  {wall * 1e6:9.0f} us wall  "
                  f"ratio to info {cpu / base if base else float('nan'):8.1f}")
        alone = latencies(conn, kinds[0][1], a.requests * 5)
        stop = threading.Event()

        def browse(path):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while not stop.is_set():
                c.request("GET", path)
                c.getresponse().read()

        browsers = [threading.Thread(target=browse, args=(p,)) for p in ("/", "/search?q=m1")]
        for b in browsers:
            b.start()
        try:
            busy = latencies(conn, kinds[0][1], a.requests * 5)
        finally:
            stop.set()
            for b in browsers:
                b.join()
        for name, lat in (("info alone", alone), ("info, pages loading", busy)):
            print(f"{name:20} median {lat[len(lat) // 2] * 1e6:7.0f} us  "
                  f"p99 {lat[len(lat) * 99 // 100] * 1e6:7.0f} us")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
