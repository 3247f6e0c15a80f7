"""health-conformance against the gRPC C++ library's own health service
(issue 6): tests/interop/cpp_health_host.cc, driven through its FIFO
control hook with --control-cmd. The verdicts must be the ones
health-protocol.md §3 and §7 predict for C++ DefaultHealthCheckService;
docs/interop.md explains each row of PREDICTED.

The suite runs once per module (about 8 s: T20 makes 100 hook calls of
~30 ms); each case's verdict is then its own test.
"""

import json
import os
import signal
import subprocess

import pytest

from conftest import BUILD, SLOW, STOP_TIMEOUT, MockExecutor, sanitizer_report

RUNNER = os.path.join(BUILD, "conformance", "health-conformance")
CPP_HOST = os.path.join(BUILD, "tests", "cpp-health-host")
RUN_TIMEOUT = 60.0 * SLOW
CTL_TIMEOUT = 5.0 * SLOW

# case id -> (result, a substring the runner's message must hold).
# Cases not listed must PASS.
PREDICTED = {
    # §3: the C++ service rejects names over 200 bytes as unparsable.
    "check/long-name": ("pass", "INVALID_ARGUMENT"),
    # The gRPC C core serves any content-type as gRPC (same WARN as the mock).
    "wire/content-type-415": ("warn", "served as gRPC"),
    # §3/§7.7: every SetServingStatus is sent, equal or not (H-WATCH-5).
    "watch/no-duplicates": ("warn", "duplicate"),
    # §3: one write in flight plus one pending, latest wins (H-WATCH-6).
    "watch/slow-reader-gets-latest": ("pass", "the last NOT_SERVING"),
    # §3/§7.1: no List in the C++ service.
    "list/includes-checked-names": ("skip", "UNIMPLEMENTED"),
    "list/limit": ("skip", "UNIMPLEMENTED"),
    "list/map-encoding": ("skip", "UNIMPLEMENTED"),
    # §3/§7.10: the default service is invisible to reflection, and this
    # host registers no reflection at all (grpc/grpc#36665).
    "reflection/lists-health": ("skip", "no reflection"),
    "reflection/describes-health": ("skip", "no reflection"),
    "reflection/v1alpha-fallback": ("skip", "no reflection"),
    "reflection/unknown-symbol-in-stream": ("skip", "no reflection"),
    # §3 Shutdown(): all NOT_SERVING, every watcher is sent the change.
    "shutdown/watchers-see-not-serving": ("pass", "NOT_SERVING"),
    # §3: a later SetServingStatus(name, true) is forced to NOT_SERVING,
    # without an error: accepted, not refused.
    "shutdown/sets-ignored": ("pass", "accepted but ignored"),
}


def _catalogue():
    res = subprocess.run([RUNNER, "--list", "--protocol", "grpc"], capture_output=True, text=True, timeout=10 * SLOW)
    assert res.returncode == 0, res.stderr
    return [ln.split()[0] for ln in res.stdout.splitlines()[1:] if ln.strip()]


class CppHost:
    def __init__(self, ctl_dir):
        self.ctl_dir = ctl_dir
        self.proc = MockExecutor(CPP_HOST, ["--port", "0", "--control-dir", str(ctl_dir)])
        # No signal handler: SIGTERM ends it with the default action.
        self.proc.expected_exit = {0, -signal.SIGTERM}

    @property
    def ctl(self):
        return os.path.join(self.ctl_dir, "ctl")

    def run_ctl(self, *args):
        return subprocess.run([self.ctl, *args], capture_output=True, text=True,
                              timeout=CTL_TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cpp_host(tmp_path_factory):
    if not os.access(CPP_HOST, os.X_OK):
        pytest.skip(f"{CPP_HOST} not built (it needs grpc++ via pkg-config)")
    host = CppHost(tmp_path_factory.mktemp("cpp-ctl"))
    try:
        host.proc.wait_listening(("grpc",))
        yield host
    finally:
        problems = host.proc.stop()
        if problems:
            pytest.fail(f"cpp-health-host: {problems}\n{host.proc.stderr()[-4000:]}",
                        pytrace=False)


@pytest.fixture(scope="module")
def verdicts(cpp_host):
    """One run of the whole suite: (exit code, {id: record}, summary)."""
    res = subprocess.run([RUNNER, "--target", cpp_host.proc.grpc_addr,
                          "--control-cmd", f"{cpp_host.ctl} {{status}} {{service}}",
                          "--format", "json"],
                         capture_output=True, text=True, timeout=RUN_TIMEOUT,
                         stdin=subprocess.DEVNULL)
    assert sanitizer_report(res.stderr) is None, res.stderr[-4000:]
    lines = [json.loads(ln) for ln in res.stdout.splitlines()]
    assert lines and "summary" in lines[-1], res.stdout + res.stderr
    records = {rec["id"]: rec for rec in lines[:-1]}
    assert len(records) == len(lines) - 1, "a case reported twice"
    return res.returncode, records, lines[-1]["summary"]


def test_no_must_fails_against_cpp(verdicts):
    code, records, summary = verdicts
    failed = {i: r["message"] for i, r in records.items() if r["result"] == "fail"}
    assert not failed, failed
    assert code == 0, (code, summary)
    assert sorted(records) == sorted(_catalogue())
    # A renamed case would leave its prediction unused, and the case
    # itself predicted to pass.
    assert set(PREDICTED) <= set(records), sorted(set(PREDICTED) - set(records))


@pytest.mark.parametrize("case_id", _catalogue() if os.access(RUNNER, os.X_OK) else [])
def test_verdict_matches_prediction(verdicts, case_id):
    _, records, _ = verdicts
    rec = records[case_id]
    want, phrase = PREDICTED.get(case_id, ("pass", ""))
    assert rec["result"] == want, f"{case_id}: predicted {want}, got {rec['result']}: {rec}"
    assert phrase in rec["message"], f"{case_id}: {phrase!r} not in {rec['message']!r}"


def test_duplicates_really_come_from_two_equal_sets(verdicts):
    """T19's WARN counts the two repeated SERVING sets (C++ sends each)."""
    _, records, _ = verdicts
    assert records["watch/no-duplicates"]["message"].startswith("2 duplicate message(s)"), \
        records["watch/no-duplicates"]


@pytest.mark.parametrize("case_id", ["shutdown/watchers-see-not-serving", "shutdown/sets-ignored"])
def test_shutdown_cases_say_the_host_stays_shut_down(verdicts, case_id):
    """The C++ service cannot come back from Shutdown() (ctl RESUME exits
    64): the shutdown cases say the target stays shut down, so the Watch
    failures of a second run against the same host are not blamed on it."""
    _, records, _ = verdicts
    assert "the target stays shut down (resume: " in records[case_id]["message"], records[case_id]
    assert "restart it before another run" in records[case_id]["message"], records[case_id]


@pytest.mark.parametrize("status", ["REMOVE", "RESUME", "UNKNOWN", "SERVICE_UNKNOWN"])
def test_ctl_says_cannot_with_exit_64(cpp_host, verdicts, status):
    """Statuses the C++ API cannot set exit 64, the runner's -ENOTSUP code
    (conformance/control.c), with the host's reason. Runs after the suite
    (verdicts): the FIFO hook takes one request at a time."""
    res = cpp_host.run_ctl(status, "hc-interop-x")
    assert res.returncode == 64, (res.returncode, res.stderr)
    assert f"cannot set {status}" in res.stderr, res.stderr


def test_host_stops_on_sigterm(cpp_host, verdicts):
    """Last: the host is still alive after the whole suite (nothing crashed
    it) and ends on SIGTERM within the bound."""
    assert cpp_host.proc.proc.poll() is None, cpp_host.proc.stderr()
    cpp_host.proc.signal(signal.SIGTERM)
    assert cpp_host.proc.wait_exit(STOP_TIMEOUT) is not None
