// go-health-host: grpc-go's own health server (google.golang.org/grpc/health),
// a peer for the benchmarks, with the mock's control API so the same load
// generators drive it.
//
//	go-health-host --port N --admin-port M
//
// Binds 127.0.0.1 only and prints "LISTENING grpc 127.0.0.1:P" and
// "LISTENING admin 127.0.0.1:Q". Control: PUT http://ADMIN/v1/statuses
// {"service": "", "status": "NOT_SERVING"} (SERVING, NOT_SERVING,
// SERVICE_UNKNOWN or UNKNOWN). SIGTERM/SIGINT stop it.
//
// Built offline from Debian's golang-google-grpc-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT go_health_host.go
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type statusRequest struct {
	Service string `json:"service"`
	Status  string `json:"status"`
}

func control(hs *health.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, `{"error":"only PUT"}`, http.StatusMethodNotAllowed)
			return
		}
		var req statusRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":"bad JSON"}`, http.StatusBadRequest)
			return
		}
		st, ok := healthpb.HealthCheckResponse_ServingStatus_value[req.Status]
		if !ok {
			http.Error(w, `{"error":"unknown status"}`, http.StatusBadRequest)
			return
		}
		hs.SetServingStatus(req.Service, healthpb.HealthCheckResponse_ServingStatus(st))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"service":%q,"status":%q}`, req.Service, req.Status)
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
	port := flag.Int("port", 0, "gRPC port (0: a free port)")
	adminPort := flag.Int("admin-port", 0, "control API port (0: a free port)")
	flag.Parse()

	hs := health.NewServer()
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, hs)

	gl := listen(*port)
	al := listen(*adminPort)
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/statuses", control(hs))
	go http.Serve(al, mux)
	go srv.Serve(gl)
	fmt.Printf("LISTENING grpc %s\nLISTENING admin %s\n", gl.Addr(), al.Addr())
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Stop()
}
