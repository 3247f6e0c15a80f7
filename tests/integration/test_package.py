"""Install rules and the Debian package (issue 9).

`cmake --install` into a temporary prefix, and `cpack -G DEB` into a
temporary directory, extracted with `dpkg-deb -x` (never installed: the
machine's dpkg database and /usr stay untouched). The extracted programs
must run: --version, and a mock started on a free port answers a Check.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, Health, MockExecutor, RPC_TIMEOUT

PROGRAMS = ("mock-executor", "health-conformance")
DOCDIR = "share/doc/healthcheck-conformance"
COMPLETIONS = "share/bash-completion/completions"
# The Debian 12 packages holding the libraries the programs link (gRPC too
# unless it is linked statically, the default: CMake's HC_STATIC_GRPC).
RUNTIME_PACKAGES = {"libc6", "libprotobuf-c1", "libcurl4", "libmicrohttpd12", "libjansson4",
                    "libxml2", "libyaml-0-2"}
# Opened with dlopen on first use rather than NEEDED (mock_executor/lazylib.h):
# linked all the same, as far as Depends goes.
DLOPENED = ("libmicrohttpd.so.12", "libgnutls.so.30")
TOOL_TIMEOUT = 120  # cpack runs the build's preinstall target first

needs_dpkg = pytest.mark.skipif(
    not (shutil.which("cpack") and shutil.which("dpkg-deb")),
    reason="cpack and dpkg-deb are needed to build and open the .deb")


def run(argv, **kw):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, **kw)
    assert res.returncode == 0, f"{' '.join(argv)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def assert_layout(prefix):
    for prog in PROGRAMS:
        assert os.access(os.path.join(prefix, "bin", prog), os.X_OK), f"bin/{prog}"
        assert os.path.isfile(os.path.join(prefix, "share/man/man1", prog + ".1")), f"{prog}.1"
        assert os.path.isfile(os.path.join(prefix, COMPLETIONS, prog)), f"completion {prog}"
    assert os.path.isfile(os.path.join(prefix, DOCDIR, "README.md"))
    assert os.path.isfile(os.path.join(prefix, DOCDIR, "cookbook.md"))


def test_cmake_install_layout(tmp_path):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", BUILD, "--prefix", str(prefix)])
    assert_layout(prefix)


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """(path of the .deb, directory it is extracted into)."""
    out = tmp_path_factory.mktemp("cpack")
    run(["cpack", "-G", "DEB", "-B", str(out), "--config", os.path.join(BUILD, "CPackConfig.cmake")])
    debs = sorted(out.glob("*.deb"))
    assert len(debs) == 1, f"cpack made {debs}"
    root = tmp_path_factory.mktemp("root")
    run(["dpkg-deb", "-x", str(debs[0]), str(root)])
    return debs[0], root


def control_field(deb_path, field):
    return run(["dpkg-deb", "-f", str(deb_path), field]).strip()


@needs_dpkg
def test_deb_layout_and_metadata(deb):
    path, root = deb
    assert_layout(root / "usr")
    assert control_field(path, "Package") == "healthcheck-conformance"
    depends = {re.sub(r"\s*\(.*\)", "", d).strip()
               for d in control_field(path, "Depends").split(",")}
    assert RUNTIME_PACKAGES <= depends, f"Depends lacks {RUNTIME_PACKAGES - depends}"


def linked_packages(binaries):
    """Debian packages owning the libraries the binaries link directly (NEEDED)
    or open themselves (DLOPENED)."""
    wanted = {}  # real path of each NEEDED library -> its soname
    for binary in binaries:
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                            run(["readelf", "-d", binary]))
        listing = run(["ldd", binary])
        resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", listing, re.M))
        # The dynamic loader has no "=>" (NEEDED by -static-libstdc++ builds).
        resolved.update((os.path.basename(p), p)
                        for p in re.findall(r"^\s*(/\S+) \(0x", listing, re.M))
        for lib in needed:
            wanted[os.path.realpath(resolved[lib])] = lib
        if os.path.basename(binary) == "mock-executor":
            cache = run(["/sbin/ldconfig", "-p"])  # where dlopen finds them
            for lib in DLOPENED:
                path = re.search(rf"^\s*{re.escape(lib)} \(.*?\) => (\S+)", cache, re.M)
                assert path, f"{lib} is not in the loader's cache"
                wanted[os.path.realpath(path.group(1))] = lib
    # One dpkg -S for all (each call reads the whole database); a path may be
    # listed as /lib/... or /usr/lib/... (merged /usr), so match by real path.
    out = subprocess.run(["dpkg", "-S", *{"*/" + lib for lib in wanted.values()}],
                         capture_output=True, text=True, timeout=TOOL_TIMEOUT).stdout
    owners = {}
    for line in out.splitlines():
        pkgs, _, path = line.partition(": ")
        if os.path.realpath(path) in wanted:
            for pkg in pkgs.split(", "):
                owners[os.path.realpath(path)] = pkg.split(":")[0]
    unowned = set(wanted) - set(owners)
    assert not unowned, f"no package owns {sorted(unowned)}"
    return set(owners.values())


@needs_dpkg
@pytest.mark.skipif(not (shutil.which("readelf") and shutil.which("dpkg")),
                    reason="readelf and dpkg are needed to map libraries to packages")
def test_deb_depends_on_every_linked_library(deb):
    """Depends names exactly the packages of the libraries the programs
    link: none missing, and none left over (libgrpc29 goes when gRPC is
    linked statically)."""
    path, root = deb
    depends = {re.sub(r"\s*\(.*\)", "", d).strip()
               for d in control_field(path, "Depends").split(",")}
    linked = linked_packages([str(root / "usr/bin" / prog) for prog in PROGRAMS])
    assert "libcurl4" in linked, linked  # the lookup works at all
    missing = linked - depends
    assert not missing, f"the programs link libraries of {missing}, not in Depends"
    assert depends <= linked, f"Depends lists {depends - linked}, which nothing links"


@needs_dpkg
def test_deb_programs_run(deb, pb):
    _, root = deb
    bindir = root / "usr/bin"
    for prog in PROGRAMS:
        # The exit code of --version is test_help_docs.py's business.
        out = subprocess.run([str(bindir / prog), "--version"], capture_output=True, text=True,
                             timeout=TOOL_TIMEOUT).stdout
        assert out.startswith(prog + " "), out
    listed = run([str(bindir / "health-conformance"), "--list"])
    assert "T01" in listed or "check/" in listed, listed[:400]

    mock = MockExecutor(str(bindir / "mock-executor"),
                        ["--host", "127.0.0.1", "--port", "0", "--status", "pkg=NOT_SERVING"])
    try:
        mock.wait_listening(("grpc",))
        health = Health(mock.channel, pb)
        assert health.check("", timeout=RPC_TIMEOUT) == 1  # SERVING
        assert health.check("pkg", timeout=RPC_TIMEOUT) == 2  # NOT_SERVING
    finally:
        problems = mock.stop()
    assert not problems, problems
