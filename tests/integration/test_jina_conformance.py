"""health-conformance --profile jina (issue 17.4): the J-* cases pass against
mock-executor --profile jina and fail, by name, against the plain mock (the
failing target of J01, J03, J06) and against the jina mock with the knob
that breaks each of J02, J04, J05 and J06."""

import pytest

from hc_runner import run, run_json

J_CASES = {
    "J01": "jina/services-serving", "J02": "jina/overall-serving",
    "J03": "jina/reflection-lists-services", "J04": "jina/reflection-health-symbol",
    "J05": "jina/health-name-not-found", "J06": "shutdown/jina-every-service",
}
ONLY_J = ["--run", "jina/*", "--run", "shutdown/jina-*"]


def spawn_arg(mock_binary, *args):
    return " ".join([mock_binary, *args, "--host", "127.0.0.1", "--port", "{port}",
                     "--admin-port", "{control_port}"])


def run_profile(mock_binary, mock_args, *extra):
    return run_json("--profile", "jina", "--spawn", spawn_arg(mock_binary, *mock_args), *extra)


def test_whole_run_passes_against_the_jina_mock(mock_binary):
    rc, cases, summary, proc = run_profile(mock_binary, ["--profile", "jina"])
    assert rc == 0, proc.stdout + proc.stderr
    for test, case_id in J_CASES.items():
        assert cases[case_id]["result"] == "pass", cases[case_id]
        assert cases[case_id]["clauses"].startswith("J-"), cases[case_id]
    # T29 wants Health listed; an Executor does not list it: J03 decides instead.
    assert cases["reflection/lists-health"]["result"] == "skip"
    assert "J03" in cases["reflection/lists-health"]["message"]


def test_plain_mock_fails_the_j_cases_by_name(mock_binary):
    rc, cases, summary, proc = run_profile(mock_binary, [], *ONLY_J)
    assert rc == 1, proc.stdout
    failed = {i for i, c in cases.items() if c["result"] == "fail"}
    assert failed == {J_CASES["J01"], J_CASES["J03"], J_CASES["J06"]}, failed
    assert "NOT_FOUND" in cases[J_CASES["J01"]]["seen"]
    assert "grpc.health.v1.Health" in cases[J_CASES["J03"]]["seen"]
    text = run("--profile", "jina", "--spawn", spawn_arg(mock_binary), *ONLY_J)
    for case_id in failed:
        assert case_id in text.stdout


@pytest.mark.parametrize("knob, test", [
    ("no-overall-health", "J02"),
    ("reflection-not-found", "J04"),
    ("check-unknown-service-unknown", "J05"),
    ("shutdown-keeps-serving", "J06"),
])
def test_knob_fails_the_j_case_on_the_jina_mock(mock_binary, knob, test):
    rc, cases, summary, proc = run_profile(mock_binary, ["--profile", "jina", "--violate", knob],
                                           "--strict", *ONLY_J)
    assert rc == 1, proc.stdout
    assert cases[J_CASES[test]]["result"] == "fail", cases[J_CASES[test]]


def test_list_shows_the_j_cases_only_with_the_profile():
    plain = run("--list").stdout
    jina = run("--list", "--profile", "jina").stdout
    for test, case_id in J_CASES.items():
        assert case_id not in plain
        assert case_id in jina and test in jina


@pytest.mark.parametrize("args, needle", [
    (["--profile", "triton", "--list"], "--profile: 'triton' is not one of none, jina"),
    (["probe", "--target", "127.0.0.1:1", "--profile", "jina"], "belong to run"),
])
def test_profile_usage_errors(args, needle):
    p = run(*args)
    assert p.returncode in (1, 2) and needle in p.stderr, (p.returncode, p.stderr)
    if args[0] != "probe":
        assert p.returncode == 2
