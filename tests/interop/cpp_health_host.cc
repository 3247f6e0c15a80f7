// cpp-health-host: the gRPC C++ library's own health service
// (grpc::EnableDefaultHealthCheckService), an implementation nobody here
// wrote, for interop tests: the conformance runner's verdicts against it
// must match what health-protocol.md §3 predicts (duplicate Watch messages
// give WARN, it is invisible to reflection, it has no List).
//
//   cpp-health-host --port N --control-dir DIR
//
// Prints "LISTENING grpc 127.0.0.1:PORT". Control: it creates the FIFOs
// DIR/in and DIR/out; a client writes one line "STATUS SERVICE" to in
// (SERVICE may be empty: the rest of the line after the first space) and
// reads one line from out: "ok" or "err REASON" (ctl exits 0 or 64, the
// runner's "cannot do that status" code). STATUS is SERVING,
// NOT_SERVING or SHUTDOWN; the C++ API can set nothing else (a bool per
// service, H-SVC-2 values UNKNOWN/SERVICE_UNKNOWN are not settable).
// DIR/ctl is a shell script doing that, usable as the runner's
// --control-cmd 'DIR/ctl {status} {service}'.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

namespace {

int Usage(const char* why) {
  std::fprintf(stderr, "cpp-health-host: %s\nusage: cpp-health-host --port N --control-dir DIR\n",
               why);
  return 2;
}

std::string Apply(grpc::HealthCheckServiceInterface* hs, const std::string& line) {
  size_t space = line.find(' ');
  std::string status = line.substr(0, space);
  std::string service = space == std::string::npos ? "" : line.substr(space + 1);
  if (status == "SERVING" || status == "NOT_SERVING") {
    hs->SetServingStatus(service, status == "SERVING");
    return "ok";
  }
  if (status == "SHUTDOWN") {
    hs->Shutdown();
    return "ok";
  }
  return "err the C++ health service cannot set " + status;
}

void WriteControlScript(const std::string& dir) {
  std::string path = dir + "/ctl";
  std::ofstream f(path);
  f << "#!/bin/sh\n"
       "# ctl STATUS [SERVICE]: one request to cpp-health-host, waits for its answer.\n"
       "d=${0%/*}\n"
       "printf '%s %s\\n' \"$1\" \"$2\" > \"$d/in\"\n"
       "read -r answer < \"$d/out\"\n"
       "[ \"$answer\" = ok ] && exit 0\n"
       "echo \"$answer\" >&2\n"
       "# 64: the runner's \"this hook cannot do that\" (conformance/control.c)\n"
       "exit 64\n";
  f.close();
  chmod(path.c_str(), 0755);
}

}  // namespace

int main(int argc, char** argv) {
  std::string port = "0", dir;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && std::strcmp(argv[i], "--port") == 0) {
      port = argv[++i];
    } else if (i + 1 < argc && std::strcmp(argv[i], "--control-dir") == 0) {
      dir = argv[++i];
    } else {
      return Usage((std::string("unknown or incomplete argument: ") + argv[i]).c_str());
    }
  }
  if (dir.empty()) return Usage("--control-dir is required");
  std::signal(SIGPIPE, SIG_IGN);

  std::string in = dir + "/in", out = dir + "/out";
  if (mkfifo(in.c_str(), 0600) != 0 || mkfifo(out.c_str(), 0600) != 0) {
    std::perror("cpp-health-host: mkfifo");
    return 1;
  }
  WriteControlScript(dir);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // The server needs a polled completion queue of its own; a callback
  // generic service gives it one and answers unknown methods UNIMPLEMENTED.
  grpc::CallbackGenericService unknown_methods;
  builder.RegisterCallbackGenericService(&unknown_methods);
  int bound = 0;
  builder.AddListeningPort("127.0.0.1:" + port, grpc::InsecureServerCredentials(), &bound);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::fprintf(stderr, "cpp-health-host: cannot listen on 127.0.0.1:%s\n", port.c_str());
    return 1;
  }
  grpc::HealthCheckServiceInterface* hs = server->GetHealthCheckService();
  if (!hs) {
    std::fprintf(stderr, "cpp-health-host: the default health service is not enabled\n");
    return 1;
  }
  std::printf("LISTENING grpc 127.0.0.1:%d\n", bound);
  std::fflush(stdout);

  // One request at a time: open in (blocks until a writer), answer on out.
  for (;;) {
    std::string line;
    {
      std::ifstream req(in);
      if (!std::getline(req, line)) continue;
    }
    std::string answer = Apply(hs, line);
    std::ofstream resp(out);
    resp << answer << "\n";
  }
}
