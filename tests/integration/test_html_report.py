"""The HTML report (issue 16.3) as a browser shows it: headless Chromium
renders the page written by --format html (and by `make conformance`), and
the tests read the rendered DOM: the counts, every case, a failed case's
clause, expected and seen, and the filters by result (the page's script
hides rows; '#only=fail' in the URL ticks just that result).
"""

import json
import os
import shlex
import subprocess

from browser import render, rows, shown
from conftest import BUILD, REPO, SLOW
from test_conformance import RUNNER, run, run_runner

MOCK = os.path.join(BUILD, "mock_executor", "mock-executor")
RUN_TIMEOUT = 60.0 * SLOW
# T05: an unknown name answers OK + SERVICE_UNKNOWN instead of NOT_FOUND.
VIOLATION, FAILED_CASE = "check-unknown-service-unknown", "check/unknown-service-not-found"


def grpc_case_ids():
    out = run_runner("--list", "--protocol", "grpc").stdout.splitlines()[1:]
    return [line.split()[0] for line in out if line.strip()]


def counts(dom):
    return {k: int(dom.by_id(f"count-{k}").text())
            for k in ("total", "pass", "fail", "warn", "skip")}


def test_make_conformance_writes_a_page_that_opens_with_every_case(tmp_path):
    # The very command `make conformance` runs (make -n prints it; running
    # make itself would reconfigure the build under test).
    plan = subprocess.run(["make", "-s", "-n", "--no-print-directory", "-C", REPO,
                           "conformance", f"BUILD={BUILD}",
                           f"CONFORMANCE_HTML={tmp_path}/conformance-report.html"],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    line = [ln for ln in plan.splitlines() if ln.startswith("scripts/run-conformance")]
    assert len(line) == 1, plan
    assert "--format html" in line[0]
    res = subprocess.run(
        ["bash", "-c", line[0]], cwd=REPO, capture_output=True, text=True,
        timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    dom = render(tmp_path / "conformance-report.html")
    ids = grpc_case_ids()
    assert [r.attrs["data-id"] for r in rows(dom)] == ids
    assert len(shown(dom)) == len(ids)
    c = counts(dom)
    assert c["total"] == len(ids) and c["fail"] == 0
    assert c["pass"] + c["warn"] + c["skip"] == len(ids)
    assert dom.by_id("shown").text() == f"{len(ids)} of {len(ids)} shown"
    assert dom.by_id("verdict").text() == "PASSED (exit code 0)"
    # The text report still goes to stdout.
    assert f"{len(ids)} cases:" in res.stdout


def run_violated(tmp_path):
    """One run against a mock with VIOLATION: an HTML page and NDJSON."""
    page, ndjson = tmp_path / "report.html", tmp_path / "report.ndjson"
    spawn = " ".join(shlex.quote(a) for a in [
        MOCK, "--host", "127.0.0.1", "--port", "{port}", "--admin-port", "{control_port}",
        "--violate", VIOLATION])
    res = run_runner("--spawn", spawn, "--spawn-timeout", f"{int(30 * SLOW)}s",
                     "--format", "html", "--output", str(page),
                     "--format", "json", "--output", str(ndjson), timeout=RUN_TIMEOUT)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    records = [json.loads(line) for line in ndjson.read_text().splitlines()]
    return page, {r["id"]: r for r in records if "id" in r}


def test_failed_case_details_and_the_fail_filter(tmp_path):
    page, records = run_violated(tmp_path)
    failed = records[FAILED_CASE]
    assert failed["result"] == "fail"

    dom = render(page)
    c = counts(dom)
    assert c["fail"] == sum(r["result"] == "fail" for r in records.values()) >= 1
    assert c["total"] == len(records) == len(rows(dom))
    assert dom.by_id("verdict").text() == "FAILED (exit code 1)"
    row = [r for r in rows(dom) if r.attrs["data-id"] == FAILED_CASE]
    assert len(row) == 1 and row[0].attrs["data-result"] == "fail"
    details = row[0].find_all("details")
    assert len(details) == 1 and "open" in details[0].attrs
    terms = [dt.text() for dt in details[0].find_all("dt")]
    values = [dd.text() for dd in details[0].find_all("dd")]
    got = dict(zip(terms, values))
    assert got["expected"] == " ".join(failed["expected"].split())
    assert got["seen"] == " ".join(failed["seen"].split())
    assert got["clause"].startswith(failed["clauses"] + ": ")
    assert details[0].find_all("summary")[0].text() == " ".join(failed["message"].split())

    # The filter, applied by the page's script from the URL.
    dom = render(page, "#only=fail")
    visible = [r.attrs["data-id"] for r in shown(dom)]
    assert FAILED_CASE in visible
    assert all(records[i]["result"] == "fail" for i in visible)
    assert len(visible) == c["fail"]
    boxes = {b.attrs["value"]: "checked" in b.attrs for b in dom.by_id("filters").find_all("input")}
    assert boxes == {"pass": False, "fail": True, "warn": False, "skip": False}
    assert dom.by_id("shown").text() == f"{c['fail']} of {c['total']} shown"
