"""ci/: the GitHub Actions and GitLab CI jobs users copy, and the project's
own pipeline script. The YAML must parse, every flag the jobs give
health-conformance or mock-executor must be one the program's --help lists,
and the JUnit file the runner writes must be the one uploaded.
"""

import os
import re
import shlex
import subprocess

import pytest

from conftest import BUILD, REPO

yaml = pytest.importorskip("yaml", reason="python3-yaml parses the CI files")

PROGRAMS = {"mock-executor": os.path.join(BUILD, "mock_executor", "mock-executor"),
            "health-conformance": os.path.join(BUILD, "conformance", "health-conformance")}
GITHUB = os.path.join(REPO, "ci", "github", "health-conformance.yml")
GITLAB = os.path.join(REPO, "ci", "gitlab", "health-conformance.gitlab-ci.yml")


def help_text(prog):
    return subprocess.run([PROGRAMS[prog], "--help"], capture_output=True, text=True,
                          timeout=30).stdout


def help_flags(prog):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text(prog)))


def help_subcommands(prog):
    usage = [line for line in help_text(prog).splitlines() if line.lstrip().startswith(
        ("Usage:", prog))]
    return {m.group(1) for line in usage
            for m in [re.search(re.escape(prog) + r" \[?([a-z]+)\]?(\s|$)", line)] if m}


def invocations(script):
    """(program, argv) for each command line of a shell script that runs one of ours."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0]
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        for i, w in enumerate(words):
            if os.path.basename(w) in PROGRAMS:
                out.append((os.path.basename(w), words[i + 1:]))
                break
    return out


def check_invocations(scripts):
    """Asserts every flag exists; returns the subcommands this build lacks."""
    pending = set()
    seen = 0
    for script in scripts:
        for prog, argv in invocations(script):
            seen += 1
            args = [a for a in argv if a not in ("&", ">", "2>&1") and not a.startswith(">")]
            if prog == "health-conformance" and args and not args[0].startswith("-"):
                if args[0] not in help_subcommands(prog):
                    pending.add(args[0])
                    continue
            flags = {a.split("=", 1)[0] for a in args if a.startswith("--")}
            unknown = flags - help_flags(prog)
            assert not unknown, f"{prog} {' '.join(argv)}: not in --help: {unknown}"
    assert seen >= 2, "no health-conformance / mock-executor command found"
    return pending


def junit_outputs(scripts):
    """The --output files that follow a --format junit."""
    files = []
    for script in scripts:
        for prog, argv in invocations(script):
            for i, a in enumerate(argv[:-1]):
                if a == "--format" and argv[i + 1] == "junit":
                    j = argv.index("--output", i) if "--output" in argv[i:] else -1
                    files.append(argv[j + 1] if j >= 0 else None)
    return files


def expand(value, env):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: str(env.get(m.group(1), m.group(0))), value)


def finish(pending):
    # Every subcommand the jobs use is built now: a missing one is a failure,
    # not a skip that would hide a renamed or dropped subcommand.
    assert not pending, f"subcommand(s) {sorted(pending)} not in this build's --help"


def test_github_workflow():
    with open(GITHUB) as f:
        wf = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as True.
    assert "on" in wf or True in wf
    job = wf["jobs"]["health-conformance"]
    steps = job["steps"]
    scripts = [s["run"] for s in steps if "run" in s]
    env = wf.get("env", {})
    reports = [expand(r, env) for r in junit_outputs(scripts)]
    assert reports and None not in reports, "the JUnit report must go to a file"
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads, "no upload-artifact step"
    assert uploads[0].get("if") == "always()", "upload the report when the suite fails too"
    assert uploads[0]["with"]["path"] in reports
    assert any(s.get("run", "").startswith("health-conformance wait") for s in steps)
    finish(check_invocations(scripts))


def test_gitlab_job():
    with open(GITLAB) as f:
        doc = yaml.safe_load(f)
    job = doc["health-conformance"]
    scripts = [line for key in ("before_script", "script") for line in job.get(key, [])]
    reports = [expand(r, job.get("variables", {})) for r in junit_outputs(scripts)]
    assert reports and None not in reports, "the JUnit report must go to a file"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] in reports
    assert any(s.startswith("health-conformance wait") for s in job["script"])
    finish(check_invocations(scripts))


def test_invocation_parser_catches_a_bad_flag():
    with pytest.raises(AssertionError, match="--no-such-flag"):
        check_invocations(["health-conformance --target x:1 --no-such-flag",
                           "mock-executor --port 1"])


def test_project_pipeline_runs_exactly_make_test():
    with open(os.path.join(REPO, ".ci", "run")) as f:
        entry = f.read()
    assert re.search(r"^exec ci/run-tests$", entry, re.M), entry
    assert "make test" in entry  # the README's command, named where CI starts
    run_tests = os.path.join(REPO, "ci", "run-tests")
    assert os.access(run_tests, os.X_OK)
    with open(run_tests) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    # Exactly the README's command after the packages; the interop matrix
    # (docs/interop.md) is the last step of make test itself.
    assert lines[-2:] == ["scripts/install-deps", "make test"], lines
    with open(os.path.join(REPO, "Makefile")) as f:
        recipe = f.read().split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert recipe.rstrip().endswith("$(MAKE) interop"), recipe
    res = subprocess.run(["bash", "-n", run_tests], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
