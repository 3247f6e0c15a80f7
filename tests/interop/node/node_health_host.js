// node-health-host: grpc-node's own health service (grpc-health-check 2.x,
// HealthImplementation) on @grpc/grpc-js, with @grpc/reflection serving the
// library's health.proto, for `make interop` (docs/interop.md). The
// packages come from npm, pinned in package-lock.json (npm ci).
//
//   node node_health_host.js --port N --control-dir DIR
//
// Prints "LISTENING grpc 127.0.0.1:PORT". Control: the FIFO protocol of
// tests/interop/ctl. The library's API is setStatus(name, status) with
// status 'UNKNOWN', 'SERVING' or 'NOT_SERVING' (its ServingStatus type):
// SERVICE_UNKNOWN, REMOVE, SHUTDOWN and RESUME have no API and answer err.
// '' is registered SERVING at start, as the library's README shows users
// doing: the library registers nothing by itself (health-protocol.md §3).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs/promises');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { ReflectionService } = require('@grpc/reflection');
const { HealthImplementation, protoPath } = require('grpc-health-check');

const SETTABLE = new Set(['UNKNOWN', 'SERVING', 'NOT_SERVING']);
const NO_API = {
  SERVICE_UNKNOWN: "grpc-health-check's ServingStatus has no SERVICE_UNKNOWN",
  REMOVE: 'grpc-health-check has no API to remove a service',
  SHUTDOWN: 'grpc-health-check has no shutdown API',
  RESUME: 'grpc-health-check has no shutdown API, so nothing to resume',
};

function usage(why) {
  process.stderr.write(`node-health-host: ${why}\nusage: node node_health_host.js --port N --control-dir DIR\n`);
  process.exit(2);
}

function apply(health, line) {
  const space = line.indexOf(' ');
  const status = space < 0 ? line : line.slice(0, space);
  const service = space < 0 ? '' : line.slice(space + 1);
  if (SETTABLE.has(status)) {
    health.setStatus(service, status);
    return 'ok';
  }
  return `err ${NO_API[status] || 'no such status: ' + status}`;
}

// One request at a time: open in (resolves when a writer opens it), read to
// its end, answer on out.
async function serveControl(health, dir) {
  for (;;) {
    const line = (await fs.readFile(`${dir}/in`, 'utf8')).replace(/\n$/, '');
    if (line === '') continue;
    await fs.writeFile(`${dir}/out`, apply(health, line) + '\n');
  }
}

function main() {
  const args = process.argv.slice(2);
  let port = '0';
  let dir = '';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port' && i + 1 < args.length) port = args[++i];
    else if (args[i] === '--control-dir' && i + 1 < args.length) dir = args[++i];
    else usage(`unknown or incomplete argument: ${args[i]}`);
  }
  if (!dir) usage('--control-dir is required');
  execFileSync('mkfifo', ['-m', '600', `${dir}/in`, `${dir}/out`], { stdio: 'inherit' });

  const server = new grpc.Server();
  const health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  new ReflectionService(protoLoader.loadSync(protoPath)).addToServer(server);
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      process.stderr.write(`node-health-host: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`LISTENING grpc 127.0.0.1:${bound}\n`);
  });
  serveControl(health, dir).catch((e) => {
    process.stderr.write(`node-health-host: control: ${e.message}\n`);
    process.exit(1);
  });
}

main();
