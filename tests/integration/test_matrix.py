"""`health-conformance matrix` (issue 16.3): NDJSON reports of real runs
with different case sets merged into one table; a case missing from a
report is NOT RUN, never a pass. The HTML matrix is rendered in headless
Chromium and read from its DOM; text and Markdown are read as written.
"""

import json
import shlex

from browser import render, rows, shown
from conftest import SLOW
from test_conformance import run_runner
from test_html_report import FAILED_CASE, MOCK, RUN_TIMEOUT, VIOLATION, grpc_case_ids


def report(tmp_path, name, *args, violate=None):
    """One run against a fresh mock, its NDJSON report at tmp_path/name.ndjson."""
    path = tmp_path / f"{name}.ndjson"
    mock = [MOCK, "--host", "127.0.0.1", "--port", "{port}", "--admin-port", "{control_port}"]
    if violate:
        mock += ["--violate", violate]
    res = run_runner("--spawn", " ".join(shlex.quote(a) for a in mock),
                     "--spawn-timeout", f"{int(30 * SLOW)}s", *args,
                     "--format", "json", "--output", str(path), timeout=RUN_TIMEOUT)
    assert res.returncode in (0, 1), res.stderr[-3000:]
    return path


def results(path):
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["id"]: r["result"] for r in records if "id" in r}


def matrix(*args):
    return run_runner("matrix", *args)


def test_merge_of_different_case_sets(tmp_path):
    full = report(tmp_path, "full")
    checks = report(tmp_path, "checks-only", "--run", "check/*", violate=VIOLATION)
    ids = grpc_case_ids()
    check_ids = [i for i in ids if i.startswith("check/")]
    assert 0 < len(check_ids) < len(ids)

    page = tmp_path / "matrix.html"
    res = matrix("--format", "html", "--output", str(page), str(full), f"broken={checks}")
    assert res.returncode == 0, res.stderr
    dom = render(page)
    table = dom.by_id("matrix")
    heads = [th.text() for th in table.find_all("th")]
    assert heads == ["case", "test", "level", "full", "broken"]
    by_id = {r.attrs["data-id"]: [td.text() for td in r.find_all("td")] for r in rows(dom)}
    assert list(by_id) == ids  # catalogue order, every case of either report
    broken = results(checks)
    assert broken[FAILED_CASE] == "fail" and set(broken) == set(check_ids)
    for case_id, cells in by_id.items():
        assert cells[3] in ("PASS", "WARN"), (case_id, cells)
        if case_id in check_ids:
            assert cells[4] == broken[case_id].upper()
        else:
            assert cells[4] == "NOT RUN", (case_id, cells)  # never a pass
    # The failed cell's details under its report.
    section = [s for s in dom.find_all("section") if s.attrs.get("data-report") == "broken"]
    assert len(section) == 1
    item = section[0].find_all("li", data_id=FAILED_CASE)
    assert len(item) == 1 and item[0].attrs["class"] == "fail"
    terms = dict(zip([d.text() for d in item[0].find_all("dt")],
                     [d.text() for d in item[0].find_all("dd")]))
    assert terms["expected"] and terms["seen"] and terms["clauses"]
    not_run = len(ids) - len(check_ids)
    assert f"{not_run} not run" in section[0].find_all("p")[0].text()

    # Only the rows with a NOT RUN cell, by the page's own filter.
    dom = render(page, "#only=not-run")
    visible = [r.attrs["data-id"] for r in shown(dom)]
    assert visible == [i for i in ids if i not in check_ids]
    assert dom.by_id("shown").text() == f"{not_run} of {len(ids)} shown"

    text = matrix(str(full), f"broken={checks}")
    assert text.returncode == 0
    assert f"2 reports, {len(ids)} cases" in text.stdout
    line = [ln for ln in text.stdout.splitlines() if ln.startswith("watch/stays-open ")]
    assert len(line) == 1 and line[0].split()[-1:] == ["RUN"] and "NOT RUN" in line[0]
    md = matrix("--format", "markdown", str(full), f"broken={checks}")
    assert md.returncode == 0
    assert "| Case | Test | Level | full | broken |" in md.stdout
    assert f"| `{FAILED_CASE}` |" in md.stdout and "**FAIL**" in md.stdout


def test_bad_reports_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"id": "check/x", "result": "pass"}\n{oops\n')
    res = matrix(str(bad))
    assert res.returncode == 2
    assert f"{bad}:2: not JSON" in res.stderr
    res = matrix(str(tmp_path / "missing.ndjson"))
    assert res.returncode == 2 and "cannot read" in res.stderr
    res = matrix()
    assert res.returncode == 2 and "no report given" in res.stderr
    res = matrix("--format", "pdf", str(bad))
    assert res.returncode == 2 and "unknown format 'pdf'" in res.stderr
    res = matrix("--help")
    assert res.returncode == 0 and "NOT RUN" in res.stdout
