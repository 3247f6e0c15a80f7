// go-probe: a grpc_health_probe-like single Check as a whole process,
// built on grpc-go (like grpc_health_probe itself): dial, one Check of
// service "", exit 0 when SERVING, 1 otherwise, 2 on usage errors.
//
//	go-probe -addr H:P [-timeout 1s]
//
// Built offline from Debian's golang-google-grpc-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT go_probe.go
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	addr := flag.String("addr", "", "server address H:P")
	timeout := flag.Duration("timeout", time.Second, "bound on dial and Check")
	flag.Parse()
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "go-probe: -addr is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.DialContext(ctx, *addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-probe: dial:", err)
		os.Exit(1)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-probe: Check:", err)
		os.Exit(1)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		fmt.Fprintln(os.Stderr, "go-probe: status", resp.GetStatus())
		os.Exit(1)
	}
}
