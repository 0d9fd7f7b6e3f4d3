"""Machinery of stoa's benchmark suite: processes pinned to cores, the servers under test (stoa,
nginx, the upstream simulator), the load generators (wrk, hyperfine, stoabench) and the JSON-lines
record of a run. The scenarios live in bench/run."""

import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
GO = shutil.which("go") or "/usr/local/go/bin/go"


class HarnessError(Exception):
    """The harness itself broke, or a server answered wrong bytes: the run must fail."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    """(status, body) of a GET; status 0 when the server cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return 0, b""


def wait_http(url, timeout=30, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"{proc.args[0]} exited with {proc.returncode} before answering {url}")
        if http_get(url, timeout=2)[0] == 200:
            return
        time.sleep(0.005)
    raise HarnessError(f"no answer from {url} within {timeout}s")


def proc_status(pid):
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def cpu_seconds(pids):
    """User+system CPU of the processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except FileNotFoundError:
            pass
    return total / CLK_TCK


def children_of(pid):
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(d.name))
    return out


def fsync_ms(directory, n=20):
    """Median milliseconds of writing a 4 KiB file, fsync(2) of it and of its directory: what a
    store commit waits for on this disk."""
    d = Path(directory) / f".fsync-probe-{os.getpid()}"
    d.mkdir(parents=True, exist_ok=True)
    times = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            fd = os.open(d / f"f{i}", os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            os.close(fd)
            dfd = os.open(d, os.O_RDONLY)
            os.fsync(dfd)
            os.close(dfd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return statistics.median(times)


def spread(values):
    values = sorted(values)
    return {"min": values[0], "median": statistics.median(values), "max": values[-1], "n": len(values)}


class Run:
    """One run: pinning, a scratch directory, the processes started, the results file."""

    def __init__(self, smoke, out_path, stoa_bin, cache_dir):
        self.smoke = smoke
        self.mode = "smoke" if smoke else "full"
        cpus = sorted(os.sched_getaffinity(0))
        # Load generator on one core, the servers on another (on a 1-core machine, the same).
        self.load_cpu = str(cpus[0])
        self.server_cpu = str(cpus[1] if len(cpus) > 1 else cpus[0])
        self.tmp = Path(tempfile.mkdtemp(prefix="stoa-bench-"))
        # Client module caches (S3, S4) go to memory when a tmpfs is at hand: extracting and
        # deleting ~100k files on disk would measure the disk, not the servers.
        shm = Path("/dev/shm")
        self.fast_tmp = (Path(tempfile.mkdtemp(prefix="stoa-bench-", dir=shm))
                         if shm.is_dir() and os.access(shm, os.W_OK) else self.tmp)
        self.cache = Path(cache_dir)
        self.procs = []
        self.failures = []
        self.ignore_sigpipe = False  # set by --ignore-sigpipe: stoa inherits SIGPIPE ignored
        self.out_path = Path(out_path)
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        self.out = open(self.out_path, "w")
        # A private copy, so that a rebuild during the run does not swap the binary under it;
        # named apart, so that someone's `pkill stoa`/`killall stoa` on a shared machine spares it.
        self.stoa = self.tmp / "bench-target"
        shutil.copy2(stoa_bin, self.stoa)
        self.stoa_source = str(Path(stoa_bin).resolve())
        # Settings that only newer stoa binaries know, applied when `serve --help` lists them.
        help_text = subprocess.run([self.stoa, "serve", "--help"], capture_output=True,
                                   text=True).stdout
        self.stoa_defaults = []
        if "--sumdb" in help_text:
            # The corpus is synthetic: no checksum database knows it. Verification is not
            # part of what these scenarios measure.
            self.stoa_defaults += ["--sumdb", "off"]
        self.tool = self.tmp / "stoabench"
        self.env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod")
        self.env["PATH"] = self.env.get("PATH", "") + ":" + str(Path(GO).parent)
        self.started = time.monotonic()

    # ---- records ----
    def record(self, kind, **fields):
        rec = {"type": kind, "t": round(time.monotonic() - self.started, 3), **fields}
        self.out.write(json.dumps(rec, sort_keys=True) + "\n")
        self.out.flush()
        return rec

    def fail(self, scenario, message):
        log(f"  FAIL {scenario}: {message}")
        self.failures.append(f"{scenario}: {message}")
        self.record("failure", scenario=scenario, message=message)

    def meta(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip() != ""

        def version(cmd):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
                return (r.stdout + r.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.TimeoutExpired):
                return "?"

        mem_kib = 0
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
        return self.record(
            "meta", mode=self.mode, date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            commit=commit, src_dirty=dirty, stoa=self.stoa_source,
            stoa_built=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                     time.gmtime(Path(self.stoa_source).stat().st_mtime)), nproc=os.cpu_count(), cpu=cpu,
            kernel=platform.release(), mem_gib=round(mem_kib / 2**20, 1),
            load_cpu=self.load_cpu, server_cpu=self.server_cpu, ignore_sigpipe=self.ignore_sigpipe,
            tools={"wrk": version(["wrk", "-v"]), "nginx": version(["nginx", "-v"]),
                   "hyperfine": version(["hyperfine", "--version"]),
                   "go": version([GO, "version"]), "stoa": version([str(self.stoa), "version"])})

    # ---- processes ----
    def start(self, argv, cpu, name, env=None, stdout=None, cwd=None, sigpipe_ignored=False):
        """Starts argv pinned to `cpu`; stdout/stderr go to files in the scratch dir. With
        sigpipe_ignored the process starts with SIGPIPE ignored (Python ignores it; the
        disposition survives exec), else with the default (terminate)."""
        err = open(self.tmp / f"{name}.stderr", "ab")
        out = stdout if stdout is not None else open(self.tmp / f"{name}.stdout", "ab")
        p = subprocess.Popen(["taskset", "-c", cpu, *map(str, argv)], stdout=out, stderr=err,
                             env=env or self.env, cwd=cwd, start_new_session=True,
                             restore_signals=not sigpipe_ignored)
        p.bench_name = name
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is not None:
            err = (self.tmp / f"{p.bench_name}.stderr").read_text(errors="replace")[-1500:]
            log(f"  {p.bench_name} (pid {p.pid}) had exited by itself with status {p.returncode}"
                f"{': ' + err.strip() if err.strip() else ''}")
            sig = f" (signal {signal.Signals(-p.returncode).name})" if p.returncode < 0 else ""
            self.fail("server", f"{p.bench_name} died during the run: exit status "
                                f"{p.returncode}{sig}")
        else:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def cleanup(self, keep_tmp=False):
        for p in list(self.procs):
            self.stop(p, timeout=5)
        self.out.close()
        if not keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            shutil.rmtree(self.fast_tmp, ignore_errors=True)

    def run(self, argv, cpu=None, timeout=600, check=True, env=None, cwd=None):
        """Runs argv (pinned to `cpu` when given) to completion; returns the CompletedProcess."""
        if cpu is not None:
            argv = ["taskset", "-c", cpu, *argv]
        r = subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=timeout,
                           env=env or self.env, cwd=cwd)
        if check and r.returncode != 0:
            raise HarnessError(f"{' '.join(map(str, argv[:4]))} ... exited {r.returncode}: "
                               f"{(r.stderr or r.stdout).strip()[-2000:]}")
        return r

    def build_tool(self):
        self.run([GO, "build", "-o", self.tool, "./tool"], cwd=BENCH, timeout=600)

    def tool_json(self, args, cpu=None, timeout=600, check=True):
        """Runs a stoabench subcommand; returns (its JSON line, the CompletedProcess)."""
        r = self.run([self.tool, *args], cpu=cpu, timeout=timeout, check=False)
        data = None
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                data = json.loads(line)
        if check and r.returncode != 0:
            raise HarnessError(f"stoabench {args[0]}: {r.stderr.strip()[-1500:]}")
        return data, r


class Stoa:
    def __init__(self, run, data_dir, upstream, threads=1, list_ttl="60s", access_log=False,
                 extra=(), name="stoa", env=None):
        self.run = run
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.t0 = time.monotonic()
        self.proc = run.start(
            [run.stoa, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", data_dir,
             "--upstream", upstream, "--threads", threads, "--list-ttl", list_ttl,
             "--access-log", "true" if access_log else "false", "--log-format", "json",
             "--log-level", "info" if access_log else "warn", *run.stoa_defaults, *extra],
            run.server_cpu, name, stdout=subprocess.DEVNULL, sigpipe_ignored=run.ignore_sigpipe,
            env=dict(run.env, **(env or {})))
        wait_http(self.url + "/healthz", proc=self.proc)
        self.startup_s = time.monotonic() - self.t0
        self.pid = self.proc.pid

    def pids(self):
        return [self.pid]

    def access_outcomes(self):
        """Counts of the access log's outcome field (access_log=True only)."""
        counts = {}
        path = self.run.tmp / f"{self.proc.bench_name}.stderr"
        for line in path.read_text(errors="replace").splitlines():
            m = re.search(r'"outcome":"(\w+)"', line)
            if m and '"msg":"access"' in line:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts

    def stop(self):
        self.run.stop(self.proc)


class Redis:
    """A redis-server on a free loopback port, no persistence: the cross-replica lock of S6."""

    def __init__(self, run, name="redis"):
        self.run = run
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = run.start(["redis-server", "--port", self.port, "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"], run.load_cpu, name,
                              stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise HarnessError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise HarnessError("redis-server did not answer within 30s")
            time.sleep(0.01)

    def stop(self):
        self.run.stop(self.proc)


NGINX_CONF = """\
{user}daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile 20000;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on;
    # tcp_nopush (TCP_CORK) is off: on loopback it stalls mid-size answers for the 40 ms
    # delayed-ACK timer (measured: 100 KiB zips at 1 connection, 2.2x fewer requests/s, p99
    # 42 ms instead of 4 ms), which would make the reference look slower than nginx can be.
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{
        application/json info;
        text/plain mod;
        application/zip zip;
    }}
    default_type text/plain;
    charset utf-8;
    charset_types text/plain;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        location ~ /@latest$ {{ default_type application/json; charset off; }}
        location ~ /@v/list$ {{ }}
        location ~ /@v/[^/]+\\.(info|mod|zip)$ {{
            add_header Cache-Control "public, max-age=31536000, immutable";
        }}
    }}
}}
"""


class Nginx:
    """nginx serving a GOPROXY tree as a static file server: the physical reference."""

    def __init__(self, run, root, workers=1, name="nginx"):
        self.run = run
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        d = run.tmp / name
        d.mkdir(exist_ok=True)
        conf = d / "nginx.conf"
        # Workers of a root master switch to `nobody`, who cannot read a tree under /root.
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(user=user, workers=workers, dir=d, port=self.port, root=root))
        self.proc = run.start(["nginx", "-p", d, "-c", conf, "-e", d / "error.log"],
                              run.server_cpu, name)
        self._wait()
        self.pid = self.proc.pid

    def _wait(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"nginx exited with {self.proc.returncode}")
            if http_get(self.url + "/", timeout=2)[0] in (200, 403, 404):
                return
            time.sleep(0.01)
        raise HarnessError("nginx did not start")

    def pids(self):
        return [self.pid, *children_of(self.pid)]

    def stop(self):
        self.run.stop(self.proc, sig=signal.SIGQUIT)


class Versitygw:
    """An S3-compatible server (versitygw, posix backend) with one empty bucket, "bench"."""

    ACCESS = "stoa-bench-access"
    SECRET = "stoa-bench-secret-0123456789"

    def __init__(self, run, cpu, name="versitygw"):
        self.run = run
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = run.tmp / name
        (self.root / "bench").mkdir(parents=True, exist_ok=True)  # a bucket is a directory
        binary = shutil.which("versitygw") or "/usr/local/bin/versitygw"
        self.proc = run.start([binary, "--access", self.ACCESS, "--secret", self.SECRET,
                               "--port", f"127.0.0.1:{self.port}", "--keep-alive", "--quiet",
                               "posix", self.root], cpu, name)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"versitygw exited with {self.proc.returncode}")
            if http_get(self.url + "/", timeout=2)[0] != 0:
                return
            time.sleep(0.01)
        raise HarnessError("versitygw did not start")

    def stoa_args(self):
        return ["--store", "s3", "--s3-endpoint", self.url, "--s3-bucket", "bench"]

    def stoa_env(self):
        return {"AWS_ACCESS_KEY_ID": self.ACCESS, "AWS_SECRET_ACCESS_KEY": self.SECRET}

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.run.stop(self.proc)


class Azurite:
    """The Azure Blob Storage emulator (azurite-blob, its development account) with one empty
    container, "bench"."""

    ACCOUNT = "devstoreaccount1"
    KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    def __init__(self, run, cpu, name="azurite"):
        import base64, email.utils, hashlib, hmac  # noqa: E401 (only this class signs requests)
        self.run = run
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/{self.ACCOUNT}"
        data = run.tmp / name
        data.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("azurite-blob") or "/usr/local/bin/azurite-blob"
        self.proc = run.start([binary, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                               "--location", data, "--silent",
                               # its telemetry would probe the cloud's metadata address
                               "--disableTelemetry"], cpu, name)
        date = email.utils.formatdate(usegmt=True)
        sts = (f"PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:2021-12-02\n"
               f"/{self.ACCOUNT}/{self.ACCOUNT}/bench\nrestype:container")
        sig = base64.b64encode(hmac.new(base64.b64decode(self.KEY), sts.encode(),
                                        hashlib.sha256).digest()).decode()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"azurite-blob exited with {self.proc.returncode}")
            req = urllib.request.Request(self.url + "/bench?restype=container", method="PUT",
                                         headers={"x-ms-date": date, "x-ms-version": "2021-12-02",
                                                  "Authorization": f"SharedKey {self.ACCOUNT}:{sig}"})
            try:
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 201:
                        return
            except urllib.error.HTTPError as e:
                raise HarnessError(f"azurite: create container: HTTP {e.code}") from e
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.05)
        raise HarnessError("azurite-blob did not start")

    def stoa_args(self):
        return ["--store", "azure", "--azure-endpoint", self.url, "--azure-container", "bench"]

    def stoa_env(self):
        return {"AZURE_STORAGE_ACCOUNT": self.ACCOUNT, "AZURE_STORAGE_KEY": self.KEY}

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.run.stop(self.proc)


class FakeGcs:
    """A Google Cloud Storage emulator (fake-gcs-server, filesystem backend, http) with one
    empty bucket, "bench"."""

    def __init__(self, run, cpu, name="fake-gcs-server"):
        self.run = run
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root = run.tmp / name
        root.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("fake-gcs-server") or "/usr/local/bin/fake-gcs-server"
        self.proc = run.start([binary, "-backend", "filesystem", "-filesystem-root", root,
                               "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port),
                               "-log-level", "error"], cpu, name)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"fake-gcs-server exited with {self.proc.returncode}")
            if http_get(self.url + "/_internal/healthcheck", timeout=2)[0] == 200:
                req = urllib.request.Request(self.url + "/storage/v1/b?project=bench",
                                             data=b'{"name":"bench"}', method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    if r.status != 200:
                        raise HarnessError(f"fake-gcs-server: create bucket: {r.status}")
                return
            time.sleep(0.01)
        raise HarnessError("fake-gcs-server did not start")

    def stoa_args(self):
        return ["--store", "gcs", "--gcs-endpoint", self.url, "--gcs-bucket", "bench"]

    def has(self, key):
        """Whether the bucket holds `key` (a GET of its bytes)."""
        name = urllib.parse.quote(key, safe="")
        return http_get(f"{self.url}/storage/v1/b/bench/o/{name}?alt=media")[0] == 200

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.run.stop(self.proc)


class FerretDB:
    """A MongoDB-wire-compatible server (FerretDB 1.x over SQLite) for store = "mongodb"."""

    def __init__(self, run, cpu, name="ferretdb"):
        self.run = run
        self.port = free_port()
        d = run.tmp / name
        (d / "sqlite").mkdir(parents=True, exist_ok=True)
        (d / "state").mkdir(parents=True, exist_ok=True)
        binary = shutil.which("ferretdb") or "/usr/local/bin/ferretdb"
        self.proc = run.start([binary, f"--listen-addr=127.0.0.1:{self.port}", "--handler=sqlite",
                               f"--sqlite-url=file:{d / 'sqlite'}/", f"--state-dir={d / 'state'}",
                               "--telemetry=disable", "--debug-addr=-", "--log-level=error"],
                              cpu, name)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"ferretdb exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        raise HarnessError("ferretdb did not start")

    def stoa_args(self):
        return ["--store", "mongodb", "--mongodb-uri", f"mongodb://127.0.0.1:{self.port}/"]

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.run.stop(self.proc)


class Upsim:
    """The upstream simulator (stoabench upsim)."""

    def __init__(self, run, root, latency="0s", bandwidth=0, cpu=None, name="upsim"):
        self.run = run
        self.proc = run.start([run.tool, "upsim", "-root", root, "-latency", latency,
                               "-bandwidth", bandwidth], cpu or run.load_cpu, name,
                              stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            raise HarnessError(f"upsim did not start: {line!r}")
        self.url = line

    def stats(self):
        status, body = http_get(self.url + "/_sim/stats")
        if status != 200:
            raise HarnessError("upsim stats unavailable")
        return json.loads(body)

    def reset(self):
        http_get(self.url + "/_sim/reset")

    def stop(self):
        self.run.stop(self.proc)


class PageBrowser:
    """bench/browse.py: one client GETting web pages at `rate` a second, pinned to the load core
    (beside wrk: this machine has no third core). Started and stopped around each measured run;
    stop() returns its {"requests", "seconds", "bad"}."""

    def __init__(self, run, url, rate, paths, name="browse"):
        self.run = run
        self.proc = run.start(["/usr/bin/python3", BENCH / "browse.py", url, rate, *paths],
                              run.load_cpu, name, stdout=subprocess.PIPE)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        self.run.procs.remove(self.proc)
        lines = out.decode().strip().splitlines()
        if self.proc.returncode != 0 or not lines:
            raise HarnessError(f"browse.py exited {self.proc.returncode} without a result")
        return json.loads(lines[-1])


def wrk(run, url, paths_file, conns, seconds, timeout_s=10):
    """One wrk run (one thread, pinned to the load core) cycling through paths_file."""
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", f"--timeout={timeout_s}s",
            "-s", BENCH / "wrk" / "paths.lua", url, "--", paths_file]
    r = run.run(argv, cpu=run.load_cpu, timeout=seconds + 60)
    for line in r.stdout.splitlines():
        if line.startswith("JSON "):
            data = json.loads(line[5:])
            d = data["duration_us"] / 1e6
            data["req_per_s"] = data["requests"] / d if d else 0
            data["bytes_per_s"] = data["bytes"] / d if d else 0
            return data
    raise HarnessError(f"wrk printed no result: {r.stdout[-500:]} {r.stderr[-500:]}")


def check_wrk(result, what):
    e = result["errors"]
    bad = {k: v for k, v in e.items() if v}
    if result["requests"] == 0:
        raise HarnessError(f"{what}: wrk completed no request")
    if bad.get("status"):
        raise HarnessError(f"{what}: {bad['status']} answers were not 2xx/3xx")
    # A reset at the very end of a run is wrk closing connections; anything else is a break.
    if sum(bad.values()) > max(10, result["requests"] // 1000):
        raise HarnessError(f"{what}: socket errors {bad}")


def strace_during(run, pid, seconds, load):
    """Counts the syscalls of `pid` (all threads) while `load()` runs. Returns (counts, load's
    result)."""
    out = run.tmp / f"strace-{pid}-{time.monotonic_ns()}.txt"
    st = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", str(out), "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # attached
    try:
        result = load()
    finally:
        st.send_signal(signal.SIGINT)
        try:
            st.wait(20)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait()
    counts = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        # % time  seconds  usecs/call  calls  [errors]  syscall
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            try:
                counts[parts[-1]] = int(parts[3])
            except ValueError:
                pass
    return counts, result


def perf_during(run, pid, load, label):
    """Samples `pid` with perf (software cpu-clock: no hardware counters on this VM) while `load()`
    runs. Returns (top self-time symbols, inclusive top, load's result)."""
    data = run.tmp / f"perf-{label}.data"
    p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "1999", "--call-graph",
                          "dwarf,16384", "-p", str(pid), "-o", str(data)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    try:
        result = load()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def report(extra):
        r = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--percent-limit", "0.3",
                            *extra], capture_output=True, text=True, timeout=600)
        rows = []
        for line in r.stdout.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(\S+)\s+\[[.k]\]\s+(.*)", line)
            if m:
                rows.append({"pct": float(m.group(1)), "dso": m.group(3),
                             "symbol": m.group(4).strip()[:140]})
        return rows, r.stdout

    r = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort",
                        "dso", "-g", "none"], capture_output=True, text=True, timeout=600)
    by_dso = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s*$", line)
        if m:
            by_dso[m.group(2)] = float(m.group(1))
    flat, flat_text = report(["--no-children", "--sort", "dso,sym", "-g", "none"])
    incl, incl_text = report(["--children", "--sort", "dso,sym", "-g", "none"])
    # The inclusive rows worth reading: stoa's own functions, each syscall, the allocator,
    # formatting and logging; not the dozens of Asio/Beast template frames around them.
    focus = re.compile(r"^(stoa::|__x64_sys_|__GI___libc_malloc|malloc$|free$|_int_malloc|"
                       r"_int_free|operator new|cfree|fmt::|spdlog::|std::__cxx11::basic_string)")
    incl = [r for r in incl if focus.search(r["symbol"])]
    (run.out_path.parent / f"{run.out_path.stem}-perf-{label}.txt").write_text(
        "# self time by dso\n" + r.stdout + "\n# self time\n" + flat_text +
        "\n# inclusive (children)\n" + incl_text)
    return by_dso, flat, incl, result
