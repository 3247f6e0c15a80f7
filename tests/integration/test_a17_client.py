"""Client-side health checking (gRFC A17, issue 6) by a real client,
python3-grpcio 1.51 (the gRPC C core), certified by the client suite.

tests/clients/a17_watch.py is the client: grpcio with "healthCheckConfig"
in its service config and round_robin, printing HEALTHY / UNHEALTHY as its
channel goes READY / TRANSIENT_FAILURE. `health-conformance client
--watch-cmd` plays the scenarios (docs/client-conformance.md): flips,
SERVICE_UNKNOWN then SERVING, UNIMPLEMENTED Watch, a Watch that ends, one
that fails (backoff), a server that restarts.

Finding: grpcio 1.51 needs no extra channel option. The C core's
health_check_client is built in and switches on when the service config
has "healthCheckConfig" and the LB policy is not pick_first (H-CLIENT-1,
H-CLIENT-7); grpc.service_config as a channel option is enough.

What the suite cannot say (pick_first turning health checking off, a
server with no Health service at all) is tested here directly through
channel.subscribe; every wait is bounded.
"""

import json
import os
import queue
import sys
from concurrent import futures

import grpc
import pytest

from conftest import CHANNEL_OPTIONS, QUIET_WINDOW, REPO, SLOW, take_until
from hc_runner import WATCH_TIMING, run_json

STATE_TIMEOUT = 5.0 * SLOW  # a connectivity change after a status flip
C = grpc.ChannelConnectivity
A17_CLIENT = (f"{sys.executable} {os.path.join(REPO, 'tests', 'clients', 'a17_watch.py')} "
              "{addr} --service {service}")


@pytest.mark.parametrize("service", ["", "svc-a"])
def test_a17_client_passes_the_watch_suite(service):
    """H-CLIENT-2..6 with the overall health and a named service."""
    code, cases, summary, proc = run_json("client", *WATCH_TIMING, "--service", service,
                                          "--watch-cmd", A17_CLIENT)
    assert summary is not None, proc.stderr
    assert len(cases) == 9
    assert {i: r["seen"] for i, r in cases.items() if r["result"] != "pass"} == {}
    assert code == 0


def service_config(lb, service=""):
    return json.dumps({"loadBalancingConfig": [{lb: {}}],
                       "healthCheckConfig": {"serviceName": service}})


class StateWatcher:
    """channel.subscribe(callback, try_to_connect=True) into a queue."""

    def __init__(self, target, lb="round_robin", service=""):
        self.states = queue.Queue()
        self.seen = []
        self.channel = grpc.insecure_channel(
            target, options=[*CHANNEL_OPTIONS, ("grpc.service_config", service_config(lb, service))])
        self.channel.subscribe(self.states.put, try_to_connect=True)

    def wait_for(self, want, timeout=STATE_TIMEOUT):
        if not take_until(self.states, lambda state: state == want, timeout, self.seen):
            raise AssertionError(f"channel not {want} within {timeout:.1f}s; "
                                 f"states so far: {self.seen}")

    def expect_no_change(self, window=QUIET_WINDOW * 2):
        try:
            state = self.states.get(timeout=window)
        except queue.Empty:
            return
        raise AssertionError(f"channel went {state} (states so far: {self.seen})")

    def close(self):
        self.channel.unsubscribe(self.states.put)
        self.channel.close()


@pytest.fixture
def watcher():
    made = []

    def make(target, **kw):
        w = StateWatcher(target, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def test_named_service_checked_not_overall(mock, watcher):
    """healthCheckConfig.serviceName picks the name watched: a flip of ''
    leaves the channel alone, a flip of the configured name does not."""
    m = mock("--status", "svc-a=SERVING")
    w = watcher(m.grpc_addr, service="svc-a")
    w.wait_for(C.READY)
    m.set_status("", "NOT_SERVING")
    w.expect_no_change()
    m.set_status("svc-a", "NOT_SERVING")
    w.wait_for(C.TRANSIENT_FAILURE)


def test_pick_first_ignores_health(mock, watcher):
    """H-CLIENT-7: pick_first inhibits health checking, so NOT_SERVING
    leaves the channel READY (the control for the suite's client)."""
    m = mock()
    w = watcher(m.grpc_addr, lb="pick_first")
    w.wait_for(C.READY)
    m.set_status("", "NOT_SERVING")
    w.expect_no_change()


def test_unimplemented_watch_is_healthy(watcher, capfd):
    """H-CLIENT-4 with a server that has no Health service (a grpcio server
    with no handlers, so Watch is UNIMPLEMENTED): the channel is READY and
    the C core logs that it disabled health checking (A17: at ERROR)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        w = watcher(f"127.0.0.1:{port}")
        w.wait_for(C.READY)
    finally:
        server.stop(None)
    assert "Watch method returned UNIMPLEMENTED" in capfd.readouterr().err
