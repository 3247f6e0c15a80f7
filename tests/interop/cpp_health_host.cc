// cpp-health-host: the gRPC C++ library's own health service
// (grpc::EnableDefaultHealthCheckService) with the library's reflection
// plugin (grpc++_reflection), an implementation nobody here wrote, for
// `make interop` (docs/interop.md): duplicate Watch messages give WARN, the
// health service is invisible to reflection (grpc/grpc#36665), no List.
//
//   cpp-health-host --port N --control-dir DIR
//
// Prints "LISTENING grpc 127.0.0.1:PORT". Control: the FIFO protocol of
// tests/interop/ctl (one line "STATUS SERVICE" on DIR/in, SERVICE the rest
// of the line after the first space; one answer "ok" or "err REASON" on
// DIR/out). STATUS is SERVING, NOT_SERVING or SHUTDOWN; the C++ API can set
// nothing else (a bool per service: UNKNOWN and SERVICE_UNKNOWN are not
// settable, and there is no remove or resume). After Shutdown() the library
// forces every set to NOT_SERVING without an error: the host says err for
// such a set rather than ok for a change that did not happen.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
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

std::string Apply(grpc::HealthCheckServiceInterface* hs, bool* shut_down, const std::string& line) {
  size_t space = line.find(' ');
  std::string status = line.substr(0, space);
  std::string service = space == std::string::npos ? "" : line.substr(space + 1);
  if (status == "SERVING" || status == "NOT_SERVING") {
    if (*shut_down && status == "SERVING")
      return "err the C++ health service forces NOT_SERVING after Shutdown()";
    hs->SetServingStatus(service, status == "SERVING");
    return "ok";
  }
  if (status == "SHUTDOWN") {
    hs->Shutdown();
    *shut_down = true;
    return "ok";
  }
  return "err the C++ health service cannot set " + status;
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

  grpc::EnableDefaultHealthCheckService(true);
  // What a user adds to make grpcurl work; it does not see the default
  // health service, which has no generated descriptor (grpc/grpc#36665).
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
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
  bool shut_down = false;
  for (;;) {
    std::string line;
    {
      std::ifstream req(in);
      if (!std::getline(req, line)) continue;
    }
    std::string answer = Apply(hs, &shut_down, line);
    std::ofstream resp(out);
    resp << answer << "\n";
  }
}
