"""The kill matrix (issue 6, "Prove the suite").

scripts/kill-matrix runs the whole health-conformance suite once against the
default mock on each engine (the gRPC C core, and --engine wire) and once per
violation knob (`mock-executor --violate KNOB`; the wire-* knobs run on the
wire engine and are judged against its default).
These tests hold the matrix to its promises: the default mock passes, every
case of the catalogue is killed by some knob, every knob kills the case it
names, and docs/kill-matrix.md is the matrix as generated now.

A knob "kills" a case it makes FAIL, or WARN where the default mock passes.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import BUILD, REPO, SANITIZED

SCRIPT = os.path.join(REPO, "scripts", "kill-matrix")
COMMITTED = os.path.join(REPO, "docs", "kill-matrix.md")
MATRIX_TIMEOUT = 600 if SANITIZED else 240  # seconds for all runs together
DEFAULT = "(default)"
DEFAULT_WIRE = "(default, --engine wire)"

# Cases no knob can kill: none, the wire engine plays what the core cannot.
UNKILLABLE = {}
# What the default mock may do besides pass, per engine: on the gRPC C core
# T34 WARNs (the core serves content-type text/plain as gRPC, no 415).
DEFAULT_ALLOWED = {DEFAULT: {"T34": "warn"}, DEFAULT_WIRE: {}}


def killed(outcome, default):
    return (outcome == "fail" and default != "fail") or (outcome == "warn" and default == "pass")


def baseline(knob):
    return DEFAULT_WIRE if knob.startswith("wire-") else DEFAULT


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    out = tmp_path_factory.mktemp("kill-matrix")
    md, js = out / "kill-matrix.md", out / "kill-matrix.json"
    res = subprocess.run([sys.executable, SCRIPT, "--build", BUILD, "--output", str(md),
                          "--json", str(js)],
                         capture_output=True, text=True, timeout=MATRIX_TIMEOUT)
    assert res.returncode == 0, "kill-matrix exit %d: %s" % (res.returncode, res.stderr)
    data = json.loads(js.read_text())
    data["markdown"] = md.read_text()
    data["by_test"] = {c["test"]: c for c in data["cases"]}
    return data


def outcome(matrix, column, case):
    return matrix["runs"][column].get(case["id"], "missing")


def kills(matrix, knob, case):
    return killed(outcome(matrix, knob, case), outcome(matrix, baseline(knob), case))


def test_default_mock_passes_every_case(matrix):
    bad = []
    for column, allowed in DEFAULT_ALLOWED.items():
        for case in matrix["cases"]:
            got = outcome(matrix, column, case)
            if got not in ("pass", allowed.get(case["test"], "pass")):
                bad.append("%s %s %s: %s" % (column, case["test"], case["id"], got))
    assert not bad, "the default mock must pass: " + "; ".join(bad)


def test_every_case_is_killed_by_some_knob(matrix):
    never = []
    for case in matrix["cases"]:
        by = [k["name"] for k in matrix["knobs"] if kills(matrix, k["name"], case)]
        if by:
            assert case["test"] not in UNKILLABLE, (
                "%s is killed by %s: drop it from UNKILLABLE" % (case["test"], by))
        elif case["test"] not in UNKILLABLE:
            never.append("%s %s" % (case["test"], case["id"]))
    assert not never, "no knob kills: " + ", ".join(never)
    assert set(matrix["exceptions"]) == set(UNKILLABLE)


def test_every_knob_kills_the_case_it_names(matrix):
    wrong = []
    for knob in matrix["knobs"]:
        case = matrix["by_test"].get(knob["breaks"])
        if case is None:
            wrong.append("%s names %s, which is no case of the catalogue"
                         % (knob["name"], knob["breaks"]))
            continue
        if not kills(matrix, knob["name"], case):
            wrong.append("%s leaves %s %s" % (knob["name"], case["test"],
                                              outcome(matrix, knob["name"], case)))
    assert not wrong, "; ".join(wrong)


def test_every_knob_kills_something(matrix):
    # gRPC knobs name a T case, HTTP knobs an H case; none is idle.
    idle = [k["name"] for k in matrix["knobs"]
            if not any(kills(matrix, k["name"], c) for c in matrix["cases"])]
    assert not idle, "knobs that kill nothing: %s" % idle
    bad = [(k["name"], k["breaks"]) for k in matrix["knobs"]
           if not re.fullmatch(r"[TH]\d\d", k["breaks"])]
    assert not bad, "Breaks must name one case (T01, H04): %s" % bad


@pytest.mark.skipif(SANITIZED, reason="sanitizer timing may move latency-bound cells; "
                                      "the plain build checks the committed matrix")
def test_committed_matrix_is_current(matrix):
    with open(COMMITTED) as f:
        committed = f.read()
    assert committed == matrix["markdown"], (
        "docs/kill-matrix.md is stale: regenerate with scripts/kill-matrix --output "
        "docs/kill-matrix.md and review the difference")
