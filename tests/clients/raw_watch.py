#!/usr/bin/python3
"""A hand-written Watch loop for `health-conformance client --watch-cmd`:
it prints HEALTHY for SERVING and UNHEALTHY for any other status or a
stream that ended, re-opens an ended Watch with exponential backoff (1 s,
x1.6, at most 10 s; reset once a message came, H-CLIENT-5), and on
UNIMPLEMENTED assumes the server healthy and stops watching (H-CLIENT-4).

Deliberately wrong variants (--mode):
  no-reopen   once its Watch ends it never opens another, so its view
              freezes (a dropped connection is never recovered)
  no-backoff  re-opens at once, every time: a retry loop that hammers a
              server whose Watch fails

Usage: raw_watch.py [--mode correct|no-reopen|no-backoff] [--service NAME] HOST:PORT
"""

import argparse
import sys
import threading

import grpc

import health_pb

OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--service", default="")
    ap.add_argument("--mode", default="correct", choices=["correct", "no-reopen", "no-backoff"])
    args = ap.parse_args()
    last = [None]
    stop = threading.Event()

    def show(view):
        if view != last[0]:
            last[0] = view
            print(view, flush=True)

    backoff = 1.0
    while True:
        channel = grpc.insecure_channel(args.addr, options=OPTIONS)
        watch = channel.unary_stream(health_pb.WATCH,
                                     request_serializer=health_pb.HealthCheckRequest.SerializeToString,
                                     response_deserializer=health_pb.HealthCheckResponse.FromString)
        try:
            for reply in watch(health_pb.HealthCheckRequest(service=args.service),
                               wait_for_ready=True):
                backoff = 1.0
                show("HEALTHY" if reply.status == health_pb.SERVING else "UNHEALTHY")
            show("UNHEALTHY")  # the server ended the stream (OK included, H-WATCH-7)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                show("HEALTHY")  # H-CLIENT-4: no Watch, assume healthy, do not retry
                stop.wait()
            show("UNHEALTHY")
        finally:
            channel.close()
        if args.mode == "no-reopen":
            stop.wait()
        if args.mode != "no-backoff":
            stop.wait(backoff)
        backoff = min(backoff * 1.6, 10.0)


if __name__ == "__main__":
    sys.exit(main())
