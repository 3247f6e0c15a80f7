"""The runner against hostile servers (issue 7, tests/hostile/servers.py).

Each server breaks the protocol in one way: garbage instead of HTTP/2, a
server that never answers, TLS on a plaintext port, a Watch that streams
forever at full speed, a 4 GiB length prefix, a 1 MiB header block,
RST_STREAM and GOAWAY floods, a one-byte-every-20-ms trickle; and for
--protocol http, a 200 whose body never ends, a body that is not JSON, and
the silent, garbage and TLS servers again. Against each,
health-conformance must end with a verdict, fail (1) or unreachable (3),
never pass (0) and never crash, within a bound, with no sanitizer report and
a bounded peak RSS (VmHWM of that very process, see vm_hwm_kib).

The runs go in parallel (one thread per server, started once for the
module) so the whole file stays well under 60 s; each test then checks one
server's run. Every process is stopped by its pid; every wait is bounded.
"""

import json
import os
import subprocess
import threading
import time

import pytest

from conftest import BUILD, REPO, SANITIZED, SANITIZER_MARKS, SLOW

SERVERS = os.path.join(REPO, "tests", "hostile", "servers.py")
RUNNER = os.path.join(BUILD, "conformance", "health-conformance")

TIMEOUT_S = 0.5            # --timeout for every run
NCASES = 37                # the catalogue (--list); a case waits a few timeouts at most
BOUND_S = NCASES * TIMEOUT_S * 2 * SLOW   # 37 s; the slowest run measured 18 s
RSS_CAP_KIB = 200 * 1024
# ASan keeps freed blocks in a quarantine, 256 MiB by default, which a run
# that opens hundreds of connections fills: shrink it so RSS still says
# something about what the runner holds (shadow memory comes on top).
ASAN_QUARANTINE = "quarantine_size_mb=16"
if SANITIZED:
    RSS_CAP_KIB = 300 * 1024
START_TIMEOUT_S = 10.0
POLL_S = 0.01

# run id -> (servers.py mode, --protocol, verdicts it may end with: 1 a MUST
# failed, 3 unreachable).
RUNS = {
    "garbage": ("garbage", "grpc", {1, 3}),
    "silent": ("silent", "grpc", {1, 3}),
    "tls": ("tls", "grpc", {1, 3}),
    "watch-flood": ("watch-flood", "grpc", {1}),
    "huge-prefix": ("huge-prefix", "grpc", {1}),
    "huge-headers": ("huge-headers", "grpc", {1}),
    "rst-flood": ("rst-flood", "grpc", {1}),
    "goaway-flood": ("goaway-flood", "grpc", {1}),
    "trickle": ("trickle", "grpc", {1, 3}),
    "http-endless": ("http-endless", "http", {1}),
    "http-bad-json": ("http-bad-json", "http", {1}),
    "http-silent": ("silent", "http", {1, 3}),
    "http-garbage": ("garbage", "http", {1, 3}),
    "http-tls": ("tls", "http", {1, 3}),
}


def start_server(mode):
    proc = subprocess.Popen(["/usr/bin/python3", SERVERS, mode],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    found = {}

    def read_port():
        line = proc.stdout.readline()
        if line.startswith("LISTENING "):
            found["port"] = int(line.split()[1])

    reader = threading.Thread(target=read_port, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    if "port" not in found:
        proc.kill()
        proc.wait(5)
        pytest.fail(f"hostile server {mode} printed no LISTENING line")
    return proc, found["port"]


def vm_hwm_kib(pid):
    """The process's peak RSS so far (VmHWM), 0 once it is gone.

    Not wait4's ru_maxrss: on Linux a child's ru_maxrss starts at the RSS
    of the process that forked it (this pytest, ~38 MiB), so every run
    showed the same figure. VmHWM is a high-water mark, so sampling it every
    POLL_S misses only what the runner adds in its last POLL_S."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def runner_env():
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = f"{opts}:{ASAN_QUARANTINE}" if opts else ASAN_QUARANTINE
    return env


def run_runner(port, out_dir, run_id):
    """Runs the runner once; its exit code, seconds, peak RSS (KiB), output."""
    protocol = RUNS[run_id][1]
    out = open(os.path.join(out_dir, f"{run_id}.out"), "w+")
    err = open(os.path.join(out_dir, f"{run_id}.err"), "w+")
    t0 = time.monotonic()
    proc = subprocess.Popen([RUNNER, "--target", f"127.0.0.1:{port}", "--protocol", protocol,
                             "--timeout", f"{int(TIMEOUT_S * 1000)}ms"],
                            stdout=out, stderr=err, env=runner_env())
    # A hang past the bound (and some slack) is killed, and shows as a
    # signal exit and a time over the bound below.
    deadline = time.monotonic() + BOUND_S + 10
    peak = 0
    while True:
        peak = max(peak, vm_hwm_kib(proc.pid))
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(POLL_S)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - t0
    out.seek(0)
    err.seek(0)
    result = {"rc": proc.returncode, "seconds": seconds, "rss_kib": peak,
              "stdout": out.read(), "stderr": err.read()}
    out.close()
    err.close()
    return result


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory):
    if not os.access(RUNNER, os.X_OK):
        pytest.exit(f"health-conformance not found at {RUNNER}; build first or set HC_BUILD",
                    returncode=1)
    out_dir = str(tmp_path_factory.mktemp("hostile"))
    servers = {}
    results = {}
    try:
        for run_id, (mode, _, _) in RUNS.items():
            servers[run_id] = start_server(mode)

        def one(run_id):
            results[run_id] = run_runner(servers[run_id][1], out_dir, run_id)

        threads = [threading.Thread(target=one, args=(r,)) for r in RUNS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(BOUND_S + 20)  # run_runner kills at BOUND_S + 10
    finally:
        for proc, _ in servers.values():
            proc.kill()
            proc.wait(5)
    return results


@pytest.mark.parametrize("run_id", sorted(RUNS))
def test_runner_survives_hostile_server(hostile_runs, run_id):
    r = hostile_runs.get(run_id)
    assert r is not None, f"{run_id}: the runner did not finish"
    where = f"{run_id}: rc={r['rc']} {r['seconds']:.1f}s rss={r['rss_kib']} KiB\n" \
            f"stderr: {r['stderr'][-2000:]}\nstdout tail: {r['stdout'][-1500:]}"
    assert r["rc"] >= 0, f"runner killed by signal {-r['rc']} (crash or hang): {where}"
    assert r["rc"] in RUNS[run_id][2], f"unexpected verdict: {where}"
    assert r["seconds"] < BOUND_S, f"over the {BOUND_S:.0f} s bound: {where}"
    assert r["rss_kib"] < RSS_CAP_KIB, f"peak RSS over {RSS_CAP_KIB} KiB: {where}"
    for mark in SANITIZER_MARKS:
        assert mark not in r["stderr"], f"sanitizer report: {where}"
    # The verdict is said, not only returned.
    assert f"exit code {r['rc']}" in r["stdout"], where
    if r["rc"] == 3:
        assert "target unreachable" in r["stderr"], where


def test_report_figures(hostile_runs):
    """Prints each run's figures (pytest -s) for docs and reviews; fails
    only if a run is missing."""
    assert sorted(hostile_runs) == sorted(RUNS), sorted(set(RUNS) - set(hostile_runs))
    for run_id in sorted(hostile_runs):
        r = hostile_runs[run_id]
        tail = r["stdout"].strip().splitlines()[-1] if r["stdout"].strip() else ""
        print(f"\n{run_id:14s} rc={r['rc']} {r['seconds']:5.1f}s "
              f"rss={r['rss_kib'] // 1024} MiB  {tail}")


def run_case_against(mode, case_id):
    """Runs one case against a hostile server; returns (runner result, its record)."""
    proc, port = start_server(mode)
    try:
        res = subprocess.run(
            [RUNNER, "--target", f"127.0.0.1:{port}", "--run", case_id,
             "--format", "json", "--timeout", "2s"],
            capture_output=True, text=True, timeout=30 * SLOW, env=runner_env())
    finally:
        proc.kill()
        proc.wait(5)
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    found = [r for r in recs if r.get("id") == case_id]
    assert found, res.stdout + res.stderr
    return res, found[0]


def test_compressed_flag_server_fails_t33():
    # T33 is the kill matrix's one gRPC case no knob of the C-core mock can
    # break (scripts/kill-matrix EXCEPTIONS): this server shows it can fail.
    res, t33 = run_case_against("compressed-flag", "wire/uncompressed-by-default")
    assert t33["result"] == "fail", res.stdout + res.stderr
    assert "compressed" in t33["message"]
    assert res.returncode == 1, res.stderr


def test_status_word_is_not_success_t06():
    """grpc-status "OK" is no status code; a runner that atoi()s it reads 0
    and passes T06. It must fail it."""
    res, t06 = run_case_against("status-word", "wire/unary-one-message-and-trailers")
    assert t06["result"] == "fail", res.stdout + res.stderr
    assert "grpc-status 0" in t06["message"], t06
    assert res.returncode == 1, res.stderr
