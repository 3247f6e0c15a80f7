"""Many targets at once (issue 16.4): --target repeated, --targets FILE,
--all-addresses, --jobs, --report-dir. Mocks listen on 127.0.0.2 and
127.0.0.3 (loopback only); each target gets its own reports, the matrix
merges them, and the exit code is the worst of the targets'. The fan-out
of one name to its addresses is unit-tested (tests/unit/test_fleet.c)
with the resolver's answer injected.
"""

import json
import os

import pytest

from conftest import SLOW
from test_conformance import run_runner
from test_html_report import FAILED_CASE, VIOLATION

FLEET_TIMEOUT = 120.0 * SLOW


def loopback_mock(processes, host, *args, admin_port="0"):
    m = processes.spawn(["--host", host, "--port", "0", "--admin-host", host,
                         "--admin-port", admin_port, *args])
    m.wait_listening(("grpc", "admin"))
    return m


def target(m):
    host, port = m.listening["grpc"]
    return f"{host}:{port}"


def stem(t):
    return t.replace(":", "_")


def cases(path):
    lines = [json.loads(ln) for ln in path.read_text().splitlines()]
    assert "summary" in lines[-1], "the run did not finish its report"
    return {r["id"]: r for r in lines if "id" in r}, lines[-1]


def test_two_loopback_targets_reports_matrix_worst_exit(processes, tmp_path):
    good = loopback_mock(processes, "127.0.0.2")
    bad = loopback_mock(processes, "127.0.0.3", "--violate", VIOLATION)
    listing = tmp_path / "targets.txt"
    listing.write_text(f"# the fleet\n{target(good)}\n\n  {target(bad)}  # broken\n")
    out = tmp_path / "reports"
    res = run_runner("--targets", str(listing), "--jobs", "2", "--report-dir", str(out),
                     "--format", "html", timeout=FLEET_TIMEOUT)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]

    good_cases, good_sum = cases(out / f"{stem(target(good))}.ndjson")
    bad_cases, bad_sum = cases(out / f"{stem(target(bad))}.ndjson")
    assert good_sum["run"]["target"] == target(good) and good_sum["run"]["exit_code"] == 0
    assert bad_sum["run"]["target"] == target(bad) and bad_sum["run"]["exit_code"] == 1
    assert bad_cases[FAILED_CASE]["result"] == "fail"
    assert good_cases[FAILED_CASE]["result"] == "pass"
    for t in (good, bad):
        assert (out / f"{stem(target(t))}.html").read_text().startswith("<!DOCTYPE html>")
        assert "cases:" in (out / f"{stem(target(t))}.txt").read_text()
    assert f"{target(good)}: exit 0 (passed)" in res.stdout
    assert f"{target(bad)}: exit 1 (failed)" in res.stdout
    assert "exit 1: the worst of 2 targets" in res.stdout

    md = (out / "matrix.md").read_text()
    assert f"| Case | Test | Level | {target(good)} | {target(bad)} |" in md
    row = [ln for ln in md.splitlines() if ln.startswith(f"| `{FAILED_CASE}` |")]
    assert row and row[0].endswith("| PASS | **FAIL** |")
    assert (out / "matrix.html").read_text().startswith("<!DOCTYPE html>")
    assert "2 reports" in (out / "matrix.txt").read_text()
    assert "2 reports" in res.stdout  # and the matrix is printed


def test_unreachable_target_makes_the_worst_exit(processes, tmp_path):
    good = loopback_mock(processes, "127.0.0.2")
    out = tmp_path / "reports"
    # 127.0.0.3:1: nothing listens there (loopback: refused at once).
    res = run_runner("--target", target(good), "--target", "127.0.0.3:1", "--all-addresses",
                     "--report-dir", str(out), timeout=FLEET_TIMEOUT)
    assert res.returncode == 3, res.stdout[-3000:] + res.stderr[-3000:]
    assert "127.0.0.3:1: exit 3 (unreachable)" in res.stdout
    _, summary = cases(out / "127.0.0.3_1.ndjson")
    assert summary["run"]["exit_code"] == 3


def test_control_url_with_host_reaches_each_targets_own_api(processes, tmp_path):
    first = loopback_mock(processes, "127.0.0.2")
    admin = str(first.listening["admin"][1])
    second = loopback_mock(processes, "127.0.0.3", admin_port=admin)  # same port, other address
    out = tmp_path / "reports"
    res = run_runner("--target", target(first), "--target", target(second),
                     "--control", f"http://{{host}}:{admin}", "--run", "check/registered-*",
                     "--report-dir", str(out), timeout=FLEET_TIMEOUT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for m in (first, second):
        got, summary = cases(out / f"{stem(target(m))}.ndjson")
        # T04 sets a name NOT_SERVING through the control API and Checks it on
        # the target: it passes on both only if each set reached its own mock.
        assert [r["result"] for r in got.values()] == ["pass"]  # ran, not skipped
        assert f"control=url http://{m.listening['grpc'][0]}:{admin}" in summary["run"]["options"]


@pytest.mark.parametrize("args, message", [
    (["--target", "127.0.0.2:1", "--target", "127.0.0.3:1"], "--report-dir DIR is required"),
    (["--target", "127.0.0.2:1", "--target", "127.0.0.2:1", "--report-dir", "R"],
     "target 127.0.0.2:1 given twice"),
    (["--target", "127.0.0.2:1", "--target", "127.0.0.3:1", "--report-dir", "R",
      "--control", "http://127.0.0.2:9"], "needs {host}"),
    (["--target", "127.0.0.2:1", "--target", "127.0.0.3:1", "--report-dir", "R",
      "--format", "junit", "--output", "x.xml"], "every report goes to --report-dir"),
    (["--targets", "/nonexistent/targets.txt", "--report-dir", "R"], "cannot read"),
    (["--target", "127.0.0.2:1", "--jobs", "0", "--report-dir", "R"], "--jobs: '0'"),
    (["--target", "127.0.0.2:1", "--target", "nope", "--report-dir", "R"], "HOST:PORT"),
    (["probe", "--target", "127.0.0.2:1", "--target", "127.0.0.3:1"], "belong to run"),
    (["--target", "127.0.0.2:1", "--target", "127.0.0.3:1", "--report-dir", "R",
      "--run", "nomatch/*"], "--run 'nomatch/*' matches no case"),
])
def test_usage_errors(tmp_path, args, message):
    """Exit 2 (probe keeps grpc_health_probe's 1), the flag named, nothing run."""
    args = [str(tmp_path / "R") if a == "R" else a for a in args]
    res = run_runner(*args)
    assert res.returncode == (1 if args[0] == "probe" else 2), res.stdout + res.stderr
    assert message in res.stderr
    assert not os.path.exists(tmp_path / "R")  # nothing written
