// go-health-host: grpc-go's own health service (health.NewServer()) with
// server reflection (reflection.Register), an implementation nobody here
// wrote, for `make interop` (docs/interop.md). Built offline in GOPATH mode
// against Debian's golang-google-grpc-dev (scripts/interop).
//
//	go-health-host --port N --control-dir DIR
//
// Prints "LISTENING grpc 127.0.0.1:PORT". Control: the FIFO protocol of
// tests/interop/ctl (one line "STATUS SERVICE" on DIR/in, one answer "ok"
// or "err REASON" on DIR/out). STATUS is a health status name, SHUTDOWN
// (health.Server.Shutdown), RESUME (Resume) or REMOVE, which grpc-go has no
// API for. A set is read back through the library's own Check, so the hook
// never says ok for a change the library ignored (after Shutdown()).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

func apply(hs *health.Server, line string) string {
	status, service := line, ""
	if i := strings.IndexByte(line, ' '); i >= 0 {
		status, service = line[:i], line[i+1:]
	}
	switch status {
	case "SHUTDOWN":
		hs.Shutdown()
		return "ok"
	case "RESUME":
		hs.Resume()
		return "ok"
	case "REMOVE":
		return "err grpc-go's health.Server has no API to remove a service"
	}
	want, known := healthpb.HealthCheckResponse_ServingStatus_value[status]
	if !known {
		return "err no such status: " + status
	}
	hs.SetServingStatus(service, healthpb.HealthCheckResponse_ServingStatus(want))
	got, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil || int32(got.Status) != want {
		return "err grpc-go ignored the set: SetServingStatus does nothing after Shutdown() until Resume()"
	}
	return "ok"
}

// serveControl answers one request at a time: open in (blocks until a
// writer), read a line, answer on out.
func serveControl(hs *health.Server, dir string) {
	for {
		in, err := os.Open(dir + "/in")
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-health-host:", err)
			os.Exit(1)
		}
		line, err := bufio.NewReader(in).ReadString('\n')
		in.Close()
		if err != nil && line == "" {
			continue
		}
		answer := apply(hs, strings.TrimSuffix(line, "\n"))
		out, err := os.OpenFile(dir+"/out", os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-health-host:", err)
			os.Exit(1)
		}
		fmt.Fprintln(out, answer)
		out.Close()
	}
}

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: a free one)")
	dir := flag.String("control-dir", "", "directory for the control FIFOs in and out")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go-health-host --port N --control-dir DIR")
		os.Exit(2)
	}
	for _, f := range []string{"/in", "/out"} {
		if err := syscall.Mkfifo(*dir+f, 0600); err != nil {
			fmt.Fprintln(os.Stderr, "go-health-host: mkfifo:", err)
			os.Exit(1)
		}
	}
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-health-host:", err)
		os.Exit(1)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	go serveControl(hs, *dir)
	fmt.Printf("LISTENING grpc %s\n", lis.Addr())
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "go-health-host:", err)
		os.Exit(1)
	}
}
