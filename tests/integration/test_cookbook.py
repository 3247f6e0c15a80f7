"""docs/cookbook.md runs: every ```sh block preceded by `<!-- test ... -->` is
executed with bash (errexit, nounset, pipefail) in a fresh temporary
directory, the build's programs first on PATH, bounded, in its own process
group (killed whole at the end, so nothing it started outlives it). Its
output must contain each `expect="..."` string of its marker. Blocks marked
`<!-- not-yet-tested: ... -->` must be followed by a visible note.
"""

import os
import re
import signal
import subprocess

import pytest

from conftest import BUILD, REPO, SLOW

COOKBOOK = os.path.join(REPO, "docs", "cookbook.md")
BLOCK_TIMEOUT = 60 * SLOW
MARKER = re.compile(r"<!-- (test|not-yet-tested)([^>]*)-->\n```(\w*)\n(.*?)```", re.S)


def blocks():
    with open(COOKBOOK) as f:
        text = f.read()
    out = []
    for m in MARKER.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append({"kind": m.group(1), "attrs": m.group(2), "lang": m.group(3),
                    "code": m.group(4), "line": line, "after": text[m.end():m.end() + 400]})
    return out


BLOCKS = blocks()
TESTED = [b for b in BLOCKS if b["kind"] == "test"]


def test_cookbook_has_tested_examples():
    assert len(TESTED) >= 6
    fenced = len(re.findall(r"^```sh$", open(COOKBOOK).read(), re.M))
    assert fenced == len(BLOCKS), "every ```sh block is marked test or not-yet-tested"


def test_untested_blocks_say_so():
    for b in BLOCKS:
        if b["kind"] == "not-yet-tested":
            assert b["attrs"].strip(": ").strip(), f"line {b['line']}: say why"
            assert "**Note:**" in b["after"], f"line {b['line']}: no visible note follows"


@pytest.mark.parametrize("block", TESTED, ids=lambda b: f"line{b['line']}")
def test_example_runs(block, tmp_path):
    assert block["lang"] == "sh"
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.join(BUILD, "mock_executor"),
                                   os.path.join(BUILD, "conformance"), "/usr/bin", env["PATH"]])
    env["HC_SRC"] = REPO
    env["HC_MOCK_EXECUTOR"] = os.path.join(BUILD, "mock_executor", "mock-executor")
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        env.pop(k, None)  # curl to 127.0.0.1 only
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block["code"]], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        pytest.fail(f"cookbook line {block['line']}: still running after "
                    f"{BLOCK_TIMEOUT:.0f}s:\n{out}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the block left behind
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"cookbook line {block['line']} exited {proc.returncode}:\n{out}"
    for want in re.findall(r'expect="([^"]*)"', block["attrs"]):
        assert want in out, f"cookbook line {block['line']}: {want!r} not in output:\n{out}"
