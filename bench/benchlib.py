"""Shared helpers of the bench/ commands: start servers on 127.0.0.1
ephemeral ports, read their LISTENING lines, stop them by pid (bounded),
sample their RSS and CPU, and print figures with ratios against the peers
measured in the same invocation (never a stored number).

Every wait is bounded; every process started here is stopped by its pid.
"""
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("HC_BUILD", os.path.join(REPO, "build"))
MOCK = os.path.join(BUILD, "mock_executor", "mock-executor")
RUNNER = os.path.join(BUILD, "conformance", "health-conformance")
CPP_HOST = os.path.join(BUILD, "tests", "cpp-health-host")
WATCH_FANOUT = os.path.join(BUILD, "bench", "watch-fanout")
GO_HOST = os.path.join(BUILD, "bench", "go-health-host")
GO_SRC = os.path.join(REPO, "tests", "interop", "go", "go_health_host.go")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
LISTENING_RE = re.compile(r"^LISTENING (\w+) (\S+):(\d+)$")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def die(msg):
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(1)


def require(path, hint):
    if not os.access(path, os.X_OK):
        die(f"{path} is missing: {hint}")


def scratch(prefix):
    """A fresh private scratch directory under /tmp (bench-*)."""
    return tempfile.mkdtemp(prefix=f"bench-{prefix}-")


class Pinning:
    """Two disjoint CPU sets, as grpc_bench runs a server and its load
    generator: the server on the `server_cpus` highest-numbered CPUs, the
    load generator on the rest (on 2 CPUs: server `taskset -c 1`, load
    generator `taskset -c 0`). A server is started under taskset, so its
    runtime sizes its thread pools (Go's GOMAXPROCS, gRPC's executors) for
    the CPUs it has, as it would when deployed on them."""

    def __init__(self, server_cpus=1):
        cpus = sorted(os.sched_getaffinity(0))
        if server_cpus < 1 or server_cpus >= len(cpus):
            die(f"--server-cpus {server_cpus}: this process may use {len(cpus)} CPUs "
                "and the load generator needs at least one")
        self.server = ",".join(map(str, cpus[-server_cpus:]))
        self.load = ",".join(map(str, cpus[:-server_cpus]))

    def server_argv(self, argv):
        return ["taskset", "-c", self.server, *argv]

    def load_argv(self, argv):
        return ["taskset", "-c", self.load, *argv]

    def describe(self):
        return f"server taskset -c {self.server}, load generator taskset -c {self.load}"


def add_pin_args(ap):
    """--server-cpus N and --unpinned-only, shared by the throughput benches."""
    ap.add_argument("--server-cpus", type=int, default=1,
                    help="CPUs of the server in the pinned runs (default 1; the load "
                         "generator gets the others)")
    ap.add_argument("--unpinned-only", action="store_true",
                    help="skip the pinned runs (only the unpinned figure)")
    ap.add_argument("--pinned-only", action="store_true",
                    help="skip the unpinned runs (A/B trials of one lever)")


def modes(a):
    """[(label, Pinning or None)]: unpinned first, then pinned, unless
    --unpinned-only or --pinned-only. Needs taskset (util-linux) for the
    pinned mode."""
    if a.unpinned_only and a.pinned_only:
        die("--unpinned-only and --pinned-only exclude each other")
    out = [] if a.pinned_only else [("unpinned", None)]
    if not a.unpinned_only:
        if not shutil.which("taskset"):
            die("taskset missing (util-linux); or pass --unpinned-only")
        out.append((f"pinned {a.server_cpus}", Pinning(a.server_cpus)))
    return out


class Server:
    """A child process that announces its ports with LISTENING lines.
    With `pin` (a Pinning) it runs on the pinning's server CPUs."""

    def __init__(self, name, argv, kinds=("grpc",), env=None, cwd=None, pin=None,
                 start_timeout=START_TIMEOUT):
        self.name = name
        self.start_timeout = start_timeout
        self.pin = pin
        if pin is not None:
            argv = pin.server_argv(argv)
        self.argv = argv
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        self.addrs = {}
        self._stderr = []
        self._wait_listening(kinds)
        # Keep the pipes drained so a chatty server never blocks on them.
        threading.Thread(target=self._drain, args=(self.proc.stdout, None), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self._stderr),
                         daemon=True).start()

    @property
    def pid(self):
        return self.proc.pid

    def _wait_listening(self, kinds):
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        while not all(k in self.addrs for k in kinds):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                err = self.proc.stderr.read1(4096).decode(errors="replace") \
                    if self.proc.poll() is not None else ""
                self.stop()
                die(f"{self.name}: no LISTENING {kinds} within {self.start_timeout:.0f}s "
                    f"(exit {self.proc.returncode}) {err.strip()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = LISTENING_RE.match(line.decode(errors="replace").strip())
                if m:
                    self.addrs[m.group(1)] = f"{m.group(2)}:{m.group(3)}"

    @staticmethod
    def _drain(pipe, keep):
        for line in iter(pipe.readline, b""):
            if keep is not None and len(keep) < 200:
                keep.append(line.decode(errors="replace"))

    def cpus_allowed(self):
        """Cpus_allowed_list of the server's main thread (checks the pinning)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
        return "?"

    def addr(self, kind="grpc"):
        return self.addrs[kind]

    def rss_kib(self, field="VmRSS"):
        """From /proc/PID/status: VmRSS (all resident pages), or e.g.
        RssAnon (the heap and stacks, without the program's file pages)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """utime + stime so far of the process and its children (nginx
        workers)."""
        total = 0
        for pid in [self.pid] + self._children():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
        return total / CLK_TCK

    def _children(self):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == self.pid:
                            out.append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_mock(extra=(), kinds=("grpc", "admin"), pin=None, name="mock-executor"):
    """The mock as users run it (journal on, default queues), on free ports."""
    require(MOCK, "run `make` (or cmake --build build) first")
    argv = [MOCK, "--host", "127.0.0.1", "--port", "0", "--admin-port", "0", *extra]
    return Server(name, argv, kinds, pin=pin)


class CppHost(Server):
    """The gRPC C++ library's default health service (tests/interop)."""

    def __init__(self, pin=None):
        require(CPP_HOST, "libgrpc++-dev is needed to build build/tests/cpp-health-host")
        self.ctl_dir = scratch("cpp")
        super().__init__("cpp-health-host",
                         [CPP_HOST, "--port", "0", "--control-dir", self.ctl_dir], pin=pin)

    def stop(self):
        super().stop()
        shutil.rmtree(self.ctl_dir, ignore_errors=True)


def build_go(src, out):
    """Builds a Go program offline against Debian's golang-google-grpc-dev.
    Returns the binary path or None (with a note) when Go is not installed."""
    go = shutil.which("go")
    if not go or not os.path.isdir("/usr/share/gocode/src/google.golang.org/grpc"):
        print(f"note: {os.path.basename(out)} skipped (bench/install-peers installs "
              "golang-go and golang-google-grpc-dev)", file=sys.stderr)
        return None
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cache = scratch("gocache")
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
               GOCACHE=cache, GOFLAGS="")
    try:
        subprocess.run([go, "build", "-o", out, src], env=env, check=True, timeout=600)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return out


def build_go_host():
    return build_go(GO_SRC, GO_HOST)


def build_go_probe():
    return build_go(os.path.join(REPO, "bench", "peers", "go_probe.go"),
                    os.path.join(BUILD, "bench", "go-probe"))


def start_go_host(pin=None):
    path = build_go_host()
    if path is None:
        return None
    return Server("go-health-host", [path, "--port", "0", "--admin-port", "0"],
                  ("grpc", "admin"), pin=pin)


def free_port():
    """A port free right now on 127.0.0.1, for servers that cannot bind 0
    and report it (nginx, uvicorn)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortServer(Server):
    """A server with no LISTENING line: ready once its port accepts."""

    def __init__(self, name, argv, port, env=None, cwd=None, pin=None):
        self.port = port
        super().__init__(name, argv, kinds=(), env=env, cwd=cwd, pin=pin)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    die(f"{name}: port {port} not accepting within {START_TIMEOUT:.0f}s "
                        f"(exit {self.proc.returncode}) {''.join(self._stderr)[-500:]}")
                time.sleep(0.02)
        self.addrs["http"] = f"127.0.0.1:{port}"


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(a, b):
    return a / b if b else float("nan")


def table(title, header, rows):
    """Prints a Markdown table (pasteable into docs/performance.md)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    sys.stdout.flush()


def machine_note():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = open("/proc/loadavg").read().split()[:3]
    return f"{os.cpu_count()} CPUs ({cpu}), load average {' '.join(load)} at start"
