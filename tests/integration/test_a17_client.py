"""Client-side health checking (gRFC A17, issue 6) by a real client,
python3-grpcio 1.51 (the gRPC C core), against the mock.

Finding: grpcio 1.51 needs no extra channel option. The C core's
health_check_client is built in and switches on when the service config
has "healthCheckConfig" and the LB policy is not pick_first (H-CLIENT-1,
H-CLIENT-7); grpc.service_config as a channel option is enough, since the
127.0.0.1 resolver supplies no service config of its own.

The connectivity state is observed through channel.subscribe into a
queue; every wait is bounded.
"""

import json
import queue
from concurrent import futures

import grpc
import pytest

from conftest import CHANNEL_OPTIONS, QUIET_WINDOW, SLOW, take_until

STATE_TIMEOUT = 5.0 * SLOW  # a connectivity change after a status flip
C = grpc.ChannelConnectivity


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


def test_channel_follows_overall_health(mock, watcher):
    """H-CLIENT-2/3: READY while '' is SERVING, TRANSIENT_FAILURE when it
    flips to NOT_SERVING, READY again when it is back to SERVING."""
    m = mock()
    w = watcher(m.grpc_addr)
    w.wait_for(C.READY)
    m.set_status("", "NOT_SERVING")
    w.wait_for(C.TRANSIENT_FAILURE)
    m.set_status("", "SERVING")
    w.wait_for(C.READY)


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


def test_unknown_service_name_is_unhealthy(mock, watcher):
    """H-CLIENT-3: only SERVING is healthy; SERVICE_UNKNOWN (Watch of a name
    the mock does not know, H-WATCH-3) is not, until it gets registered."""
    m = mock()
    w = watcher(m.grpc_addr, service="hc-a17-unregistered")
    w.wait_for(C.TRANSIENT_FAILURE)
    m.set_status("hc-a17-unregistered", "SERVING")
    w.wait_for(C.READY)


def test_pick_first_ignores_health(mock, watcher):
    """H-CLIENT-7: pick_first inhibits health checking, so NOT_SERVING
    leaves the channel READY (the control for the tests above)."""
    m = mock()
    w = watcher(m.grpc_addr, lb="pick_first")
    w.wait_for(C.READY)
    m.set_status("", "NOT_SERVING")
    w.expect_no_change()


def test_unimplemented_watch_on_mock_is_healthy(spawn, watcher, capfd):
    """H-CLIENT-4 against the mock: a fault rule makes Watch answer
    UNIMPLEMENTED. The overall status is NOT_SERVING, so READY can only come
    from the A17 rule "UNIMPLEMENTED means assume healthy"."""
    m = spawn(["--host", "127.0.0.1", "--port", "0", "--status", "NOT_SERVING",
               "--fault", "method=Watch,action=code:UNIMPLEMENTED"])
    m.wait_listening(("grpc",))
    w = watcher(m.grpc_addr)
    w.wait_for(C.READY)
    assert "Watch method returned UNIMPLEMENTED" in capfd.readouterr().err


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
