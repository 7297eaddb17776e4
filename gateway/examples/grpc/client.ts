// Calls helloworld.Greeter/SayHello through Tollgate and prints the answer, the status and how long it took.
//   node_modules/.bin/node gateway/examples/grpc/client.ts 127.0.0.1:8081                  # h2c listener
//   node_modules/.bin/node gateway/examples/grpc/client.ts localhost:8443 gateway/examples/certs/ca.pem  # TLS
// It needs the dev dependencies (npm ci).
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { protos } from './server.ts';

const [address = '127.0.0.1:8081', ca] = process.argv.slice(2);
const credentials = ca ? grpc.credentials.createSsl(readFileSync(ca)) : grpc.credentials.createInsecure();
const greeter = new protos.echo.helloworld.Greeter(address, credentials);
const started = performance.now();
greeter.SayHello(
  { name: 'Tollgate' },
  { deadline: Date.now() + 5000 },
  (err: grpc.ServiceError | null, reply: { message: string } | undefined) => {
    const ms = (performance.now() - started).toFixed(1);
    if (err) console.log(`${grpc.status[err.code]} (${err.code}): ${err.details} in ${ms} ms`);
    else console.log(`OK: ${reply?.message} in ${ms} ms`);
    greeter.close();
    process.exitCode = err ? 1 : 0;
  },
);
