#!/usr/bin/python3
"""A gRPC health probe for `health-conformance client --probe-cmd`, written
as kubelet's grpc probe behaves (k8s pkg/probe/grpc/grpc.go; health-protocol
§4): one timeout covers both the blocking dial and the Check, user-agent
kube-probe/<version>, and only SERVING is a success (exit 0; anything else
exits 1).

--mode picks a deliberately wrong probe instead, each the bug of a real
client, which the client suite must catch (docs/client-conformance.md):
  any-answer                exit 0 on any reply, whatever its status
  no-deadline               no dial timeout, no deadline on Check
  crash-on-service-unknown  aborts (SIGABRT) when Check answers
                            SERVICE_UNKNOWN, as Envoy crashed (envoy#10825)

Usage: grpc_probe.py [--mode MODE] [--service NAME] [--timeout SECONDS] HOST:PORT
"""

import argparse
import os
import sys
import time

import grpc

import health_pb

OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--service", default="")
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--mode", default="kubelet",
                    choices=["kubelet", "any-answer", "no-deadline", "crash-on-service-unknown"])
    args = ap.parse_args()
    deadline = None if args.mode == "no-deadline" else time.monotonic() + args.timeout
    channel = grpc.insecure_channel(
        args.addr, options=OPTIONS + [("grpc.primary_user_agent", "kube-probe/1.27")])

    def left():
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    try:
        if deadline is not None:  # kubelet's WithBlock dial, under the same timeout
            grpc.channel_ready_future(channel).result(timeout=left())
        reply = health_pb.check_callable(channel)(
            health_pb.HealthCheckRequest(service=args.service), timeout=left())
    except grpc.FutureTimeoutError:
        print(f"timeout: failed to connect service {args.addr!r} within {args.timeout}s")
        return 1
    except grpc.RpcError as e:
        print(f"error: health rpc failed: {e.code().name}: {e.details()}")
        return 1
    status = health_pb.STATUS_NAMES[reply.status] if reply.status < 4 else str(reply.status)
    print(f"status: {status}")
    if args.mode == "crash-on-service-unknown" and reply.status == health_pb.SERVICE_UNKNOWN:
        sys.stdout.flush()
        os.abort()
    if args.mode == "any-answer":
        return 0
    return 0 if reply.status == health_pb.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
