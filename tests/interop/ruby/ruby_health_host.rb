# ruby-health-host: ruby-grpc's own health service (Grpc::Health::Checker,
# Debian ruby-grpc) for `make interop` (docs/interop.md).
#
#   ruby ruby_health_host.rb --port N --control-dir DIR
#
# Prints "LISTENING grpc 127.0.0.1:PORT". Control: the FIFO protocol of
# tests/interop/ctl. Checker's API: add_status(name, status) for any status
# value and clear_status(name) (REMOVE); it has no shutdown API (SHUTDOWN and
# RESUME answer err), no Watch and no List, and ruby-grpc has no reflection
# service. '' is registered SERVING at start, as the protocol tells servers
# to (H-SVC-3): Checker registers nothing by itself.
require 'grpc'
require 'grpc/health/checker'

ServingStatus = Grpc::Health::V1::HealthCheckResponse::ServingStatus

def usage(why)
  warn "ruby-health-host: #{why}\nusage: ruby ruby_health_host.rb --port N --control-dir DIR"
  exit 2
end

def apply(checker, line)
  status, service = line.split(' ', 2)
  service ||= ''
  case status
  when 'REMOVE'
    checker.clear_status(service)
    'ok'
  when 'SHUTDOWN', 'RESUME'
    'err Grpc::Health::Checker has no shutdown API'
  else
    value = ServingStatus.resolve(status.to_s.to_sym)
    return "err no such status: #{status}" unless value
    checker.add_status(service, value)
    'ok'
  end
end

# One request at a time: open in (blocks until a writer), answer on out.
def serve_control(checker, dir)
  loop do
    line = File.read("#{dir}/in").chomp
    next if line.empty?
    File.write("#{dir}/out", apply(checker, line) + "\n")
  end
end

port = '0'
dir = nil
args = ARGV.dup
until args.empty?
  arg = args.shift
  case arg
  when '--port' then port = args.shift || usage('--port needs a value')
  when '--control-dir' then dir = args.shift || usage('--control-dir needs a value')
  else usage("unknown argument: #{arg}")
  end
end
usage('--control-dir is required') unless dir
%w[in out].each { |f| File.mkfifo("#{dir}/#{f}", 0o600) }

checker = Grpc::Health::Checker.new
checker.add_status('', ServingStatus::SERVING)
server = GRPC::RpcServer.new
bound = server.add_http2_port("127.0.0.1:#{port}", :this_port_is_insecure)
server.handle(checker)
Thread.new do
  serve_control(checker, dir)
rescue StandardError => e
  warn "ruby-health-host: control: #{e.message}"
  exit!(1)
end
Signal.trap('TERM') { exit!(0) }
server_thread = Thread.new { server.run }
server.wait_till_running
$stdout.puts "LISTENING grpc 127.0.0.1:#{bound}"
$stdout.flush
server_thread.join
