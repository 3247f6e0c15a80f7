"""Man pages and bash completions, generated at build time from --help
(cmake/help2doc.py), must say exactly what --help says.

The flags are read here from the programs' --help independently of the
generator: every long flag written in it. The completion is exercised in a
real bash, as bash-completion calls it (COMP_WORDS / COMP_CWORD).
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD

PROGRAMS = {"mock-executor": os.path.join(BUILD, "mock_executor", "mock-executor"),
            "health-conformance": os.path.join(BUILD, "conformance", "health-conformance")}
GEN = os.path.join(BUILD, "doc-gen")
TIMEOUT = 30


def help_text(prog):
    return subprocess.run([PROGRAMS[prog], "--help"], capture_output=True, text=True,
                          timeout=TIMEOUT).stdout


def long_flags(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))


def complete(prog, *words):
    """COMPREPLY for the command line `prog words...`, the last word being completed."""
    script = (f"source {GEN}/completions/{prog}\n"
              f"COMP_WORDS=({prog} {' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words)}\n"
              f"_{prog.replace('-', '_')}\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    res = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert res.returncode == 0 and not res.stderr, res.stderr
    return [w for w in res.stdout.split("\n") if w]


@pytest.mark.parametrize("prog", PROGRAMS)
def test_completion_offers_exactly_the_help_flags(prog):
    flags = long_flags(help_text(prog))
    assert "--help" in flags and len(flags) > 5, flags
    offered = complete(prog, "--")
    assert len(offered) == len(set(offered)), offered
    assert set(offered) == flags, (f"only in --help: {flags - set(offered)}; "
                                   f"only in the completion: {set(offered) - flags}")


@pytest.mark.parametrize("prog", PROGRAMS)
def test_completion_prefix(prog):
    flags = long_flags(help_text(prog))
    expect = {f for f in flags if f.startswith("--ti")}
    assert set(complete(prog, "--ti")) == expect


def test_completion_values_mock():
    assert complete("mock-executor", "--drain-watch", "") == ["end", "keep"]
    assert "NOT_SERVING" in complete("mock-executor", "--status", "N")
    # A value nobody can guess: no flags offered in its place.
    assert complete("mock-executor", "--port", "") == []


def test_completion_files(tmp_path):
    (tmp_path / "report.xml").write_text("")
    offered = complete("health-conformance", "--output", str(tmp_path / "rep"))
    assert offered == [str(tmp_path / "report.xml")]


def test_completion_subcommands():
    usage = [line for line in help_text("health-conformance").splitlines()
             if "health-conformance " in line and not line.startswith(" " * 8)]
    subs = {m.group(1) for line in usage
            for m in [re.search(r"health-conformance \[?([a-z]+)\]?\s", line)] if m}
    assert "run" in subs
    assert set(complete("health-conformance", "")) == subs


@pytest.mark.skipif(not shutil.which("groff"), reason="groff renders the man pages")
@pytest.mark.parametrize("prog", PROGRAMS)
def test_man_page_renders_every_flag(prog):
    page = os.path.join(GEN, "man1", prog + ".1")
    res = subprocess.run(["groff", "-man", "-Tutf8", "-ww", page], capture_output=True,
                         timeout=TIMEOUT, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert res.returncode == 0 and not res.stderr, res.stderr
    # groff may render '-' as U+2010 or U+2212; fold back to ASCII.
    text = res.stdout.decode("utf-8")
    text = re.sub("[\u2010\u2011\u2212]", "-", re.sub(".\b", "", text))
    missing = long_flags(help_text(prog)) - long_flags(text)
    assert not missing, f"{prog}.1 lacks {missing}"
    assert re.search(r"^NAME\n\s+" + re.escape(prog) + r"\s+-\s+\S", text, re.M), text[:300]


@pytest.mark.parametrize("prog", PROGRAMS)
def test_generated_after_the_binary(prog):
    """The build regenerates them whenever the program is relinked."""
    binary = os.path.getmtime(PROGRAMS[prog])
    for path in (os.path.join(GEN, "man1", prog + ".1"), os.path.join(GEN, "completions", prog)):
        assert os.path.getmtime(path) >= binary, f"{path} is older than {PROGRAMS[prog]}"


@pytest.mark.parametrize("prog", PROGRAMS)
@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_exit_zero(prog, flag):
    res = subprocess.run([PROGRAMS[prog], flag], capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == 0 and res.stdout, (res.returncode, res.stderr)
