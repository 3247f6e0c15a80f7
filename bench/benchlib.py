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


class Server:
    """A child process that announces its ports with LISTENING lines."""

    def __init__(self, name, argv, kinds=("grpc",), env=None, cwd=None):
        self.name = name
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
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        while not all(k in self.addrs for k in kinds):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                err = self.proc.stderr.read1(4096).decode(errors="replace") \
                    if self.proc.poll() is not None else ""
                self.stop()
                die(f"{self.name}: no LISTENING {kinds} within {START_TIMEOUT:.0f}s "
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


def start_mock(extra=(), kinds=("grpc", "admin")):
    """The mock as users run it (journal on, default queues), on free ports."""
    require(MOCK, "run `make` (or cmake --build build) first")
    argv = [MOCK, "--host", "127.0.0.1", "--port", "0", "--admin-port", "0", *extra]
    return Server("mock-executor", argv, kinds)


class CppHost(Server):
    """The gRPC C++ library's default health service (tests/interop)."""

    def __init__(self):
        require(CPP_HOST, "libgrpc++-dev is needed to build build/tests/cpp-health-host")
        self.ctl_dir = scratch("cpp")
        super().__init__("cpp-health-host",
                         [CPP_HOST, "--port", "0", "--control-dir", self.ctl_dir])

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


def start_go_host():
    path = build_go_host()
    if path is None:
        return None
    return Server("go-health-host", [path, "--port", "0", "--admin-port", "0"],
                  ("grpc", "admin"))


def free_port():
    """A port free right now on 127.0.0.1, for servers that cannot bind 0
    and report it (nginx, uvicorn)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortServer(Server):
    """A server with no LISTENING line: ready once its port accepts."""

    def __init__(self, name, argv, port, env=None, cwd=None):
        self.port = port
        super().__init__(name, argv, kinds=(), env=env, cwd=cwd)
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
