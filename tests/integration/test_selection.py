"""health-conformance selection, known-failing baseline, --spawn and
--parallel (issue 5)."""

import json
import os
import signal
import subprocess

import pytest

from conftest import SANITIZED, SLOW, binary_path
from hc_runner import run, run_json, runner_path, start_http_mock


def test_run_and_skip_globs(mock, tmp_path):
    m = mock()
    skips = tmp_path / "skips"
    skips.write_text("# comment\n\ncheck/idempotent   # slow on CI\n")
    rc, cases, _, proc = run_json("--target", m.grpc_addr, "--run", "check/*",
                                  "--run", "wire/unknown-*", "--skip", f"@{skips}",
                                  "--skip", "check/long-name")
    assert rc == 0, proc.stderr
    assert "wire/unknown-method-unimplemented" in cases
    assert "check/idempotent" not in cases and "check/long-name" not in cases
    assert all(c.startswith("check/") or c.startswith("wire/unknown-") for c in cases)
    assert "check/overall-health" in cases


def test_unknown_pattern_is_a_usage_error(mock):
    m = mock()
    p = run("--target", m.grpc_addr, "--run", "chek/*")
    assert p.returncode == 2
    assert "--run 'chek/*' matches no case" in p.stderr


@pytest.mark.parametrize("sel", [
    pytest.param(["--run", "chek/*"], id="run-no-match"),
    pytest.param(["--run", "["], id="run-bad-glob"),
    pytest.param(["--skip", "chek/*"], id="skip-no-match"),
    pytest.param(["--protocol", "http", "--run", "check/*"], id="none-of-the-protocol"),
])
def test_list_refuses_a_selection_as_a_run_does(sel):
    # The run exits 2 before connecting to 127.0.0.1:1 (a connection: exit 3).
    ran = run("--target", "127.0.0.1:1", *sel)
    assert ran.returncode == 2 and "(see --list)" in ran.stderr, ran.stderr
    for listing in (run("list", *sel), run("--list", *sel)):
        assert (listing.returncode, listing.stderr, listing.stdout) == (2, ran.stderr, "")


def test_missing_pattern_file_is_a_usage_error(tmp_path):
    p = run("--target", "127.0.0.1:1", "--skip", f"@{tmp_path}/none")
    assert p.returncode == 2 and "--skip" in p.stderr


BROKEN_CASE = "http/unhealthy-not-success"  # broken by --http-code NOT_SERVING=302


def test_known_failing_tolerates_a_listed_failure(spawn, tmp_path):
    m = start_http_mock(spawn, "--http-code", "NOT_SERVING=302")
    args = ["--target", m.http_target, "--control", m.admin_url]
    rc, cases, _, _ = run_json(*args)
    assert (rc, cases[BROKEN_CASE]["result"]) == (1, "fail")  # the setting does break it

    kf = tmp_path / "known-failing.txt"
    kf.write_text(f"# baseline\n\n{BROKEN_CASE}   302 while unhealthy, fix pending\n")
    rc, cases, _, proc = run_json(*args, "--known-failing", str(kf))
    assert rc == 0, proc.stdout
    assert cases[BROKEN_CASE]["result"] == "fail"
    assert "known failing" in cases[BROKEN_CASE]["message"]
    assert f"{kf}:3" in cases[BROKEN_CASE]["message"]
    assert cases["http/root-ok"]["result"] == "pass"


def test_known_failing_catches_a_stale_entry(mock, tmp_path):
    m = mock()
    kf = tmp_path / "known-failing.txt"
    kf.write_text("check/overall-* # fixed long ago\n")
    rc, cases, _, proc = run_json("--target", m.grpc_addr, "--run", "check/*",
                                  "--known-failing", str(kf))
    assert rc == 1, proc.stdout
    rec = cases["check/overall-health"]
    assert rec["result"] == "fail" and "stale" in rec["message"]
    assert cases["check/empty-request"]["result"] == "pass"  # unlisted cases untouched


def test_known_failing_line_without_reason(tmp_path):
    kf = tmp_path / "kf"
    kf.write_text("# ok\ncheck/idempotent   a reason\ncheck/long-name\n")
    p = run("--target", "127.0.0.1:1", "--known-failing", str(kf))
    assert p.returncode == 2
    assert f"{kf}:3" in p.stderr and "no reason" in p.stderr


def test_known_failing_unknown_id(tmp_path):
    kf = tmp_path / "kf"
    kf.write_text("check/no-such-case  typo\n")
    p = run("--target", "127.0.0.1:1", "--known-failing", str(kf))
    assert p.returncode == 2 and f"{kf}:1" in p.stderr


def test_spawn_runs_the_mock_in_parallel():
    cmd = (f"{binary_path()} --host 127.0.0.1 --port {{port}} --admin-port {{control_port}}")
    rc, cases, summary, proc = run_json("--spawn", cmd, "--parallel", "8")
    assert rc == 0, proc.stdout + proc.stderr
    assert len(cases) == 37 and summary["summary"]["failed"] == 0
    assert summary["summary"]["skipped"] == 0  # the control port reached the Ctl cases
    listed = [line.split()[0] for line in run("--list", "--protocol", "grpc").stdout.splitlines()[1:]]
    assert list(cases) == listed  # reported in catalogue order despite --parallel


def test_spawn_http_mock():
    cmd = (f"{binary_path()} --host 127.0.0.1 --port {{port}} --protocol http "
           f"--admin-port {{control_port}}")
    rc, cases, _, proc = run_json("--spawn", cmd, "--protocol", "http", "--strict")
    assert rc == 0, proc.stdout + proc.stderr
    assert all(c["result"] == "pass" for c in cases.values())


def test_spawn_failure_shows_the_target_output():
    p = run("--spawn", "sh -c 'echo spawned-target-broke >&2; exit 7' {port}")
    assert p.returncode == 3
    assert "spawned-target-broke" in p.stderr and "exited (status 7)" in p.stderr


NO_FORK_SHIM = """
#include <errno.h>
#include <sys/types.h>
pid_t fork(void) { errno = EAGAIN; return -1; }
"""


def process_state(pid):
    """'R', 'S', 'Z', ... from /proc, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def pids_running(argv):
    """Pids of live (not zombie) processes whose command line starts with argv."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:len(argv)] == [a.encode() for a in argv] and \
                        process_state(int(entry)) not in (None, "Z"):
                    found.append(int(entry))
        except (ValueError, OSError):
            continue  # not a pid, or gone meanwhile
    return found


def test_spawn_never_listening_exits_3_and_stops_the_target():
    # The target is found by its own command line, unique to this run, not by
    # a pid it writes: it may be stopped before it gets to write anything.
    wait_ms, target = int(500 * SLOW), ["sleep", f"600.{os.getpid()}"]
    try:
        p = run("--spawn", f"{' '.join(target)} {{port}}", "--spawn-timeout", f"{wait_ms}ms",
                timeout=10 * SLOW)
    finally:
        left = pids_running(target)
        for pid in left:
            os.kill(pid, signal.SIGKILL)  # not left behind when the test fails
    assert p.returncode == 3, p.stderr
    assert f"did not answer within {wait_ms} ms" in p.stderr, p.stderr
    assert not left, f"the target was left running (pids {left})"


@pytest.mark.skipif(SANITIZED, reason="a preloaded shim cannot come before the sanitizer runtime")
def test_cut_run_stops_the_spawned_target_even_when_fork_fails(tmp_path):
    """--max-time cuts a case short while fork() fails, so contain_call ran
    the cases in the runner itself: the spawned target is still stopped
    before the runner ends (cmd_run), not left behind."""
    (tmp_path / "nofork.c").write_text(NO_FORK_SHIM)
    shim = tmp_path / "nofork.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(shim), str(tmp_path / "nofork.c")],
                   check=True, timeout=60)
    pidfile = tmp_path / "target.pid"
    cmd = (f"sh -c 'echo $$ > {pidfile}; exec {binary_path()} --host 127.0.0.1 --port {{port}} "
           f"--fault method=Watch,action=delay:{int(1500 * SLOW)}ms'")
    try:
        proc = subprocess.run([runner_path(), "--spawn", cmd, "--max-time", f"{int(4 * SLOW)}s"],
                              env={**os.environ, "LD_PRELOAD": str(shim)},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60 * SLOW)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "cut short" in proc.stdout, proc.stdout
        state = process_state(int(pidfile.read_text()))
        assert state in (None, "Z"), f"the spawned target was left running (state {state})"
        assert "Terminated, shutting down" in proc.stderr, proc.stderr  # stop_target's tail
    finally:
        if pidfile.exists() and process_state(int(pidfile.read_text())) not in (None, "Z"):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_spawn_without_port_placeholder():
    p = run("--spawn", "true")
    assert p.returncode == 2 and "{port}" in p.stderr


def test_parallel_output_is_valid_ndjson(mock):
    m = mock()
    p = run("--target", m.grpc_addr, "--control", m.admin_url, "--parallel", "16",
            "--timeout", f"{int(2000 * SLOW)}ms", "--latency-budget", f"{int(500 * SLOW)}ms",
            "--format", "json")
    assert p.returncode == 0, p.stdout + p.stderr
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    assert "summary" in recs[-1] and len(recs) == 38
