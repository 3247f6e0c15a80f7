"""TLS on the mock's health listeners and in the runner (issue 9, part 1).

Certificates are made at run time with the openssl command (OpenSSL 3.0):
a CA, a server certificate for localhost/127.0.0.1 (SAN), the same key in
an expired certificate (`-days -1`: notAfter before now) and in one for
another name only, a client certificate, and a wrong CA with a client
certificate of its own. Clients independent of the C code check the mock
(grpcio, http.client with ssl); the runner's probe, wait and run check it
too, with grpc_health_probe's exit codes (a TLS failure of any kind is a
connection failure: probe exits 2; a run's cases fail with UNAVAILABLE).
"""

import http.client
import os
import shutil
import ssl
import subprocess

import grpc
import pytest

from conftest import CHANNEL_OPTIONS, HEALTH, RPC_TIMEOUT, SLOW
from hc_runner import run

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
SAN = "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
# The latency cases (T10, T36, H05) are not what these runs test; a loaded
# machine plus TLS handshakes must not make them flake.
BUDGET = ["--latency-budget", f"{int(2000 * SLOW)}ms"]


def _openssl(*args, cwd):
    res = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=30, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"openssl {' '.join(args)}: {res.stderr}"


def _ca(d, name):
    _openssl("req", "-x509", *EC, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", cwd=d)


def _signed(d, name, ca, days, subject, ext=None, key=None):
    """name.pem signed by ca, for a new key (name.key) or an existing one."""
    keyargs = ["-key", key] if key else [*EC, "-keyout", f"{name}.key"]
    _openssl("req", "-new", *keyargs, "-out", f"{name}.csr", "-subj", subject, cwd=d)
    extargs = []
    if ext:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext)
        extargs = ["-extfile", f"{name}.ext"]
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", str(days), *extargs, cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tls"))
    _ca(d, "ca")
    _ca(d, "wrongca")
    _signed(d, "server", "ca", 2, "/CN=localhost", SAN)
    _signed(d, "expired", "ca", -1, "/CN=localhost", SAN, key="server.key")
    _signed(d, "othername", "ca", 2, "/CN=other.example",
            "subjectAltName=DNS:other.example\n", key="server.key")
    _signed(d, "client", "ca", 2, "/CN=client")
    _signed(d, "wrongclient", "wrongca", 2, "/CN=client")
    return lambda name: os.path.join(d, name)


def tls_mock(mock_on, certs, cert="server", *extra, kinds=("grpc", "http", "admin")):
    """gRPC and HTTP listeners with TLS (server.key goes with every cert)."""
    return mock_on(kinds, "--port", "0", "0", "--protocol", "grpc", "http", "--ssl-certfile",
                   certs(f"{cert}.pem"), "--ssl-keyfile", certs("server.key"), *extra)


def grpcio_check(addr, creds):
    ch = grpc.secure_channel(addr, creds, options=CHANNEL_OPTIONS)
    try:
        check = ch.unary_unary(HEALTH + "Check", request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
        return check(b"", timeout=RPC_TIMEOUT)  # HealthCheckRequest{service: ""}
    finally:
        ch.close()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def https_get(port, cafile, client=None, path="/"):
    ctx = ssl.create_default_context(cafile=cafile)
    if client:
        ctx.load_cert_chain(*client)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=RPC_TIMEOUT)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def probe(addr, *args):
    return run("probe", "--target", addr, "--rpc-timeout", f"{int(2000 * SLOW)}ms", *args)


# ---------------------------------------------------------------------------
# The mock, seen by independent clients

def test_grpcio_checks_over_tls_with_the_right_ca_only(mock_on, certs):
    m = tls_mock(mock_on, certs)
    reply = grpcio_check(m.grpc_addr, grpc.ssl_channel_credentials(read(certs("ca.pem"))))
    assert reply == b"\x08\x01"  # status SERVING
    with pytest.raises(grpc.RpcError) as e:
        grpcio_check(m.grpc_addr, grpc.ssl_channel_credentials(read(certs("wrongca.pem"))))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_http_listener_serves_https_only(mock_on, certs):
    m = tls_mock(mock_on, certs)
    port = m.ports("http")[0]
    assert https_get(port, certs("ca.pem")) == (200, b"{}")
    with pytest.raises(ssl.SSLError):
        https_get(port, certs("wrongca.pem"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=RPC_TIMEOUT)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        conn.request("GET", "/")  # plaintext to a TLS port: no HTTP answer
        conn.getresponse()
    conn.close()
    # the control API stays plain HTTP
    assert m.http("GET", "/v1/health")[0] == 200


def test_ssl_ca_requires_a_client_certificate_it_signed(mock_on, certs):
    m = tls_mock(mock_on, certs, "server", "--ssl-ca", certs("ca.pem"))
    ca = read(certs("ca.pem"))
    with pytest.raises(grpc.RpcError) as e:
        grpcio_check(m.grpc_addr, grpc.ssl_channel_credentials(ca))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    good = grpc.ssl_channel_credentials(ca, read(certs("client.key")), read(certs("client.pem")))
    assert grpcio_check(m.grpc_addr, good) == b"\x08\x01"
    port = m.ports("http")[0]
    assert https_get(port, certs("ca.pem"), (certs("client.pem"), certs("client.key")))[0] == 200
    for client in (None, (certs("wrongclient.pem"), certs("wrongclient.key"))):
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            https_get(port, certs("ca.pem"), client)


# ---------------------------------------------------------------------------
# probe and wait

def test_probe_tls_good_wrong_ca_no_verify_plaintext(mock_on, certs):
    m = tls_mock(mock_on, certs)
    ok = probe(m.grpc_addr, "--tls", "--tls-ca-cert", certs("ca.pem"))
    assert ok.returncode == 0, ok.stderr
    assert "status: SERVING" in ok.stdout
    wrong = probe(m.grpc_addr, "--tls", "--tls-ca-cert", certs("wrongca.pem"))
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "certificate verify failed" in wrong.stderr
    assert probe(m.grpc_addr, "--tls", "--tls-no-verify").returncode == 0
    assert probe(m.grpc_addr).returncode == 2  # plaintext against TLS: connection failure
    http_addr = f"127.0.0.1:{m.ports('http')[0]}"
    assert probe(f"https://{http_addr}", "--tls-ca-cert", certs("ca.pem")).returncode == 0
    assert probe(http_addr, "--protocol", "http", "--tls", "--tls-ca-cert",
                 certs("wrongca.pem")).returncode == 2
    assert probe(f"http://{http_addr}").returncode == 2
    w = run("wait", "--target", m.grpc_addr, "--tls", "--tls-ca-cert", certs("ca.pem"),
            "--timeout", f"{int(5 * SLOW)}s")
    assert w.returncode == 0, w.stdout + w.stderr


def test_probe_tls_against_plaintext_is_2(mock_on):
    m = mock_on(("grpc", "admin"), "--port", "0")
    p = probe(m.grpc_addr, "--tls", "--tls-no-verify")
    assert p.returncode == 2, p.stdout + p.stderr


def test_probe_name_mismatch_is_2_unless_server_name_matches(mock_on, certs):
    m = tls_mock(mock_on, certs, "othername")
    ca = certs("ca.pem")
    p = probe(m.grpc_addr, "--tls", "--tls-ca-cert", ca)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "not in peer certificate" in p.stderr
    p = probe(m.grpc_addr, "--tls", "--tls-ca-cert", ca, "--tls-server-name", "other.example")
    assert p.returncode == 0, p.stderr
    http_addr = f"127.0.0.1:{m.ports('http')[0]}"
    assert probe(f"https://{http_addr}", "--tls-ca-cert", ca).returncode == 2
    p = probe(f"https://{http_addr}", "--tls-ca-cert", ca, "--tls-server-name", "other.example")
    assert p.returncode == 0, p.stderr


def test_probe_expired_certificate_is_2(mock_on, certs):
    m = tls_mock(mock_on, certs, "expired")
    p = probe(m.grpc_addr, "--tls", "--tls-ca-cert", certs("ca.pem"))
    assert p.returncode == 2, p.stdout + p.stderr
    http_addr = f"127.0.0.1:{m.ports('http')[0]}"
    p = probe(f"https://{http_addr}", "--tls-ca-cert", certs("ca.pem"))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "expired" in p.stderr
    # only verification fails: without it the same server answers
    assert probe(m.grpc_addr, "--tls", "--tls-no-verify").returncode == 0


def test_probe_client_certificate(mock_on, certs):
    m = tls_mock(mock_on, certs, "server", "--ssl-ca", certs("ca.pem"))
    ca = certs("ca.pem")
    http_addr = f"https://127.0.0.1:{m.ports('http')[0]}"
    for target in (m.grpc_addr, http_addr):
        tls = ["--tls"] if target == m.grpc_addr else []
        assert probe(target, *tls, "--tls-ca-cert", ca).returncode == 2, target
        good = probe(target, *tls, "--tls-ca-cert", ca, "--tls-client-cert", certs("client.pem"),
                     "--tls-client-key", certs("client.key"))
        assert good.returncode == 0, (target, good.stderr)
        wrong = probe(target, *tls, "--tls-ca-cert", ca, "--tls-client-cert",
                      certs("wrongclient.pem"), "--tls-client-key", certs("wrongclient.key"))
        assert wrong.returncode == 2, target
    # --tls-no-verify still sends the client certificate
    p = probe(m.grpc_addr, "--tls", "--tls-no-verify", "--tls-client-cert", certs("client.pem"),
              "--tls-client-key", certs("client.key"))
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------------------
# the whole suite over TLS

def test_full_grpc_suite_passes_over_tls(mock_on, certs):
    m = tls_mock(mock_on, certs, kinds=("grpc", "admin"))
    p = run("--tls", "--tls-ca-cert", certs("ca.pem"), "--target", m.grpc_addr, "--control",
            m.admin_url, "--protocol", "grpc", "--parallel", "4", *BUDGET)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "0 failed" in p.stdout


def test_full_http_suite_passes_over_tls(mock_on, certs):
    m = mock_on(("http", "admin"), "--port", "0", "--protocol", "http", "--ssl-certfile",
                certs("server.pem"), "--ssl-keyfile", certs("server.key"))
    target = f"https://127.0.0.1:{m.ports('http')[0]}"
    p = run("--tls-ca-cert", certs("ca.pem"), "--target", target, "--control", m.admin_url,
            *BUDGET)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]


def test_run_against_tls_without_tls_is_unreachable(mock_on, certs):
    m = tls_mock(mock_on, certs, kinds=("grpc", "admin"))
    p = run("--target", m.grpc_addr, "--run", "check/*")
    # The port is open, but no gRPC answer comes: the gate ends the run
    # (issue 13), every case not run with the reason.
    assert p.returncode == 3, p.stdout[-2000:]
    assert "the target does not answer: no HTTP/2 answer" in p.stderr
    assert "0 passed, 0 failed" in p.stdout


# ---------------------------------------------------------------------------
# usage errors

@pytest.mark.parametrize("flags,names", [
    (["--tls-no-verify"], "need --tls"),
    (["--tls-ca-cert", "x.pem"], "need --tls"),
    (["--tls", "--tls-no-verify", "--tls-ca-cert", "x.pem"], "exclude each other"),
    (["--tls", "--tls-client-cert", "c.pem"], "--tls-client-cert and --tls-client-key"),
    (["--tls", "--tls-client-key", "k.pem"], "--tls-client-cert and --tls-client-key"),
    (["--tls", "--tls-ca-cert", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
])
def test_runner_bad_tls_combinations(flags, names):
    target = "127.0.0.1:1"
    r = run("--target", target, *flags)
    assert r.returncode == 2, r.stderr
    assert names in r.stderr
    p = run("probe", "--target", target, *flags)
    assert p.returncode == 1, p.stderr  # grpc_health_probe's usage exit
    assert names in p.stderr


@pytest.mark.parametrize("flag", ["--ssl-certfile", "--ssl-keyfile"])
def test_mock_needs_both_certfile_and_keyfile(spawn, certs, flag):
    m = spawn(["--host", "127.0.0.1", "--port", "0", flag, certs("server.pem")])
    m.expected_exit = {2}
    assert m.wait_exit(10 * SLOW) == 2
    assert "--ssl-certfile and --ssl-keyfile" in m.stderr()


@pytest.mark.parametrize("cert,key,named", [
    ("missing.pem", "server.key", "missing.pem"),
    ("server.pem", "client.key", "client.key"),  # a key of another certificate
    ("server.key", "server.key", "--ssl-certfile"),  # not a certificate
])
def test_mock_bad_tls_file_is_named(spawn, certs, cert, key, named):
    m = spawn(["--host", "127.0.0.1", "--port", "0", "--ssl-certfile", certs(cert),
               "--ssl-keyfile", certs(key)])
    m.expected_exit = {1}
    assert m.wait_exit(10 * SLOW) == 1
    assert named in m.stderr()
    assert "LISTENING" not in m.stdout()
