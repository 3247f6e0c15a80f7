"""Headless Chromium for the HTML reports (issue 16): a page is rendered by
a real browser, its script run, and the DOM it ends with is read back
(--dump-dom), so the tests check what a person sees, not the source text.

Chromium runs with a new empty profile and no background networking (the
machine's network is closed: without those flags it keeps trying to reach
outside hosts). Every run is bounded.
"""

import html.parser
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import SLOW

RENDER_TIMEOUT = 60.0 * SLOW
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium():
    path = shutil.which("chromium")
    if not path:
        pytest.fail("chromium not found: scripts/install-deps installs it (Debian 'chromium')")
    return path


class Node:
    """One element of the rendered DOM: tag, attrs (dict), children, text."""

    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.parts = [], []

    def text(self):
        """All the text below this node, whitespace collapsed."""
        out = []

        def walk(n):
            for p in n.parts:
                out.append(p if isinstance(p, str) else "")
                if not isinstance(p, str):
                    walk(p)
        walk(self)
        return " ".join("".join(out).split())

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, **attrs):
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, ident):
        found = [n for n in self.iter() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"expected one element with id {ident!r}, found {len(found)}"
        return found[0]


VOID = {"meta", "input", "br", "hr", "img", "link", "col", "area", "base", "wbr", "source"}


class _Builder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        if self.cur.tag not in ("script", "style"):
            self.cur.parts.append(data)


def render(path, fragment=""):
    """The DOM of file `path` after its script ran in headless Chromium."""
    assert os.path.isfile(path), f"{path} was not written"
    with tempfile.TemporaryDirectory(prefix="hc-chromium-") as profile:
        url = "file://" + os.path.abspath(path) + fragment
        proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               "--dump-dom", url], capture_output=True, text=True,
                              timeout=RENDER_TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and proc.stdout.strip(), \
        f"chromium exited {proc.returncode}\n{proc.stderr[-3000:]}"
    b = _Builder()
    b.feed(proc.stdout)
    b.close()
    return b.root


def rows(dom):
    """The filterable rows (data-result), in page order."""
    return [n for n in dom.iter() if n.tag == "tr" and "data-result" in n.attrs]


def shown(dom):
    return [r for r in rows(dom) if "hidden" not in r.attrs]
