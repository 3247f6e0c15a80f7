#!/usr/bin/python3
"""A long-lived client with client-side health checking (gRFC A17) for
`health-conformance client --watch-cmd`: python3-grpcio (the gRPC C core)
with "healthCheckConfig" in its service config and round_robin, which
Watches the service and moves the channel READY / TRANSIENT_FAILURE
(H-CLIENT-1..7). It prints its view on each change: HEALTHY when the
channel is READY, UNHEALTHY when it is TRANSIENT_FAILURE (the other states
are on the way between them), and runs until it is killed.

Usage: a17_watch.py [--service NAME] HOST:PORT
"""

import argparse
import json
import sys
import threading

import grpc

OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]
VIEW = {grpc.ChannelConnectivity.READY: "HEALTHY",
        grpc.ChannelConnectivity.TRANSIENT_FAILURE: "UNHEALTHY"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--service", default="")
    args = ap.parse_args()
    config = json.dumps({"loadBalancingConfig": [{"round_robin": {}}],
                         "healthCheckConfig": {"serviceName": args.service}})
    channel = grpc.insecure_channel(args.addr,
                                    options=OPTIONS + [("grpc.service_config", config)])
    last = [None]

    def on_state(state):
        view = VIEW.get(state)
        if view and view != last[0]:
            last[0] = view
            print(view, flush=True)

    channel.subscribe(on_state, try_to_connect=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    sys.exit(main())
