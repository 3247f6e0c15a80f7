"""Verdicts that depend neither on case order nor on selection (issue 13).

The control hook here cannot undo: a --control-cmd wrapper around the
mock's control API that sets statuses and shuts down, but exits 64 ("this
hook cannot do that", conformance/control.c) for REMOVE and RESUME, as the
C++ health service's or grpc-node's would. Names a case creates then stay,
and a shutdown stays. Against the mock:
  - the full run passes every MUST (list/map-encoding once failed after
    list/limit had left 101 names behind);
  - every case run alone with --run ID gives the verdict it gives in the
    full run, and so does --parallel 4.
One mock per protocol serves every run; between runs the test resets it
through the real control API (resume, remove every name, '' SERVING).
"""

import os
import stat
import urllib.parse

import pytest

from conftest import SLOW, MockExecutor
from hc_runner import run, run_json, runner_path

# The hook: sets and shutdown through the control API, REMOVE and RESUME
# unsupported. curl keeps each call cheap (T20 and T27 make ~100 each).
HOOK = r"""#!/bin/sh
url=$1 status=$2 service=$3
case $status in
REMOVE | RESUME) exit 64 ;;
SHUTDOWN) exec curl -sSf -m 5 -X POST "$url/v1/shutdown" ;;
esac
name=$(printf '%s' "$service" | sed 's/[\\"]/\\&/g')
exec curl -sSf -m 5 -X PUT -H 'Content-Type: application/json' \
  --data "{\"service\": \"$name\", \"status\": \"$status\"}" "$url/v1/statuses"
"""

PROTOCOLS = ("grpc", "http")
LISTEN = {"grpc": ["--protocol", "grpc"], "http": ["--protocol", "http"]}


def catalogue(protocol):
    res = run("--list", "--protocol", protocol, timeout=10 * SLOW)
    assert res.returncode == 0, res.stderr
    return [ln.split()[0] for ln in res.stdout.splitlines()[1:] if ln.strip()]


class Target:
    """A mock of one protocol and the runner arguments that reach it."""

    def __init__(self, binary, protocol, hook):
        self.protocol = protocol
        self.mock = MockExecutor(binary, ["--host", "127.0.0.1", "--port", "0", *LISTEN[protocol],
                                          "--admin-port", "0", "--admin-host", "127.0.0.1"])
        self.mock.wait_listening((protocol, "admin"))
        host, port = self.mock.listening[protocol]
        target = f"{host}:{port}" if protocol == "grpc" else f"http://{host}:{port}"
        self.args = ["--target", target,
                     "--control-cmd", f"{hook} {self.mock.admin_url} {{status}} {{service}}"]

    def reset(self):
        """The mock as it started: resumed, no name but '', '' SERVING."""
        self.mock.resume()
        for name in self.mock.statuses():
            if name:
                self.mock.remove(urllib.parse.quote(name, safe=""))
        self.mock.set_status("", "SERVING")

    def verdicts(self, *extra):
        self.reset()
        code, cases, summary, proc = run_json(*self.args, *extra)
        assert summary is not None, proc.stdout + proc.stderr
        return code, {i: (r["result"], r["message"]) for i, r in cases.items()}


@pytest.fixture(scope="module")
def hook(tmp_path_factory):
    path = tmp_path_factory.mktemp("hook") / "ctl"
    path.write_text(HOOK)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(scope="module")
def targets(mock_binary, hook):
    started = {}
    try:
        for protocol in PROTOCOLS:
            started[protocol] = Target(mock_binary, protocol, hook)
        yield started
    finally:
        problems = [f"{p}: {m}" for p, t in started.items() for m in t.mock.stop()]
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def full_runs(targets):
    """protocol -> (exit code, {id: (result, message)}) of one full run."""
    return {p: t.verdicts() for p, t in targets.items()}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_full_run_passes_every_must(full_runs, protocol):
    code, verdicts = full_runs[protocol]
    failed = {i: m for i, (r, m) in verdicts.items() if r == "fail"}
    assert not failed, failed
    assert code == 0, verdicts
    assert sorted(verdicts) == sorted(catalogue(protocol))


def test_leftovers_are_reported_as_ours(full_runs):
    """What the hook could not undo is said, so nobody blames the target."""
    _, verdicts = full_runs["grpc"]
    assert "stay on the target (the hook cannot remove them)" in verdicts["list/limit"][1]
    for case_id in ("shutdown/watchers-see-not-serving", "shutdown/sets-ignored"):
        assert "the target stays shut down" in verdicts[case_id][1], verdicts[case_id]
    assert "an earlier case's" in verdicts["shutdown/sets-ignored"][1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_parallel_gives_the_same_verdicts(targets, full_runs, protocol):
    _, alone = full_runs[protocol]
    code, verdicts = targets[protocol].verdicts("--parallel", "4")
    diff = {i: (alone[i], verdicts.get(i)) for i in alone
            if verdicts.get(i, (None,))[0] != alone[i][0]}
    assert not diff, diff
    assert code == full_runs[protocol][0]


@pytest.mark.parametrize("protocol,case_id",
                         [(p, c) for p in PROTOCOLS for c in catalogue(p)]
                         if os.access(runner_path(), os.X_OK) else [])
def test_case_alone_gives_its_full_run_verdict(targets, full_runs, protocol, case_id):
    _, verdicts = targets[protocol].verdicts("--run", case_id)
    assert list(verdicts) == [case_id], verdicts
    assert verdicts[case_id][0] == full_runs[protocol][1][case_id][0], \
        (verdicts[case_id], full_runs[protocol][1][case_id])
