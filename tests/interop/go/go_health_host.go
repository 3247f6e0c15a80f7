// go-health-host: grpc-go's own health service (health.NewServer()) with
// server reflection (reflection.Register), an implementation nobody here
// wrote, for `make interop` (docs/interop.md) and the benchmarks
// (docs/performance.md). Built offline in GOPATH mode against Debian's
// golang-google-grpc-dev (scripts/interop, bench/benchlib.py):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT go_health_host.go
//	go-health-host --port N [--control-dir DIR] [--admin-port M]
//
// Binds 127.0.0.1 only; prints "LISTENING grpc 127.0.0.1:PORT" (and
// "LISTENING admin 127.0.0.1:Q"). Two ways to one control, apply():
//   - --control-dir: the FIFO protocol of tests/interop/ctl (one line
//     "STATUS SERVICE" on DIR/in, one answer "ok" or "err REASON" on DIR/out);
//   - --admin-port: the mock's PUT /v1/statuses {"service": "", "status":
//     "NOT_SERVING"}, so the bench's load generators drive it like the mock.
//
// STATUS is a health status name, SHUTDOWN (health.Server.Shutdown), RESUME
// (Resume) or REMOVE, which grpc-go has no API for. A set is read back
// through the library's own Check, so the hook never says ok for a change
// the library ignored (after Shutdown()). SIGTERM/SIGINT stop it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
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

// admin serves PUT /v1/statuses {"service": S, "status": X} through apply:
// 200 with the request echoed, 400 for bad JSON, 409 with the reason when
// apply says err.
func admin(hs *health.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Service string `json:"service"`
			Status  string `json:"status"`
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPut {
			w.WriteHeader(http.StatusMethodNotAllowed)
			fmt.Fprintln(w, `{"error":"only PUT"}`)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintln(w, `{"error":"bad JSON"}`)
			return
		}
		if answer := apply(hs, req.Status+" "+req.Service); answer != "ok" {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, "{\"error\":%q}\n", strings.TrimPrefix(answer, "err "))
			return
		}
		fmt.Fprintf(w, "{\"service\":%q,\"status\":%q}\n", req.Service, req.Status)
	}
}

func listen(port int) net.Listener {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-health-host:", err)
		os.Exit(1)
	}
	return l
}

func main() {
	port := flag.Int("port", 0, "gRPC port on 127.0.0.1 (0: a free one)")
	dir := flag.String("control-dir", "", "directory for the control FIFOs in and out")
	adminPort := flag.Int("admin-port", -1, "control API port (0: a free one; default off)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go-health-host --port N [--control-dir DIR] [--admin-port M]")
		os.Exit(2)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	if *dir != "" {
		for _, f := range []string{"/in", "/out"} {
			if err := syscall.Mkfifo(*dir+f, 0600); err != nil {
				fmt.Fprintln(os.Stderr, "go-health-host: mkfifo:", err)
				os.Exit(1)
			}
		}
		go serveControl(hs, *dir)
	}
	gl := listen(*port)
	go srv.Serve(gl)
	fmt.Printf("LISTENING grpc %s\n", gl.Addr())
	if *adminPort >= 0 {
		al := listen(*adminPort)
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/statuses", admin(hs))
		go http.Serve(al, mux)
		fmt.Printf("LISTENING admin %s\n", al.Addr())
	}
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Stop()
}
