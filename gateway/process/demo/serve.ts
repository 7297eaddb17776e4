// Runs the demo upstream on its own: node gateway/process/demo/serve.ts HOST PORT (used by docker-compose.yml).
import { startDemoUpstream } from './upstream.ts';

const [host = '0.0.0.0', port = '9001'] = process.argv.slice(2);
await startDemoUpstream(host, Number(port));
console.log(JSON.stringify({ msg: 'demo upstream listening', host, port: Number(port) }));
process.on('SIGTERM', () => process.exit(0));
