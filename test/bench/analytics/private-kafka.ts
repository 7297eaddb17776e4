// A Kafka broker of the bench's own (scripts/services.sh with a private
// TOLLGATE_KAFKA_DIR and ports; scripts/kafka/service.sh), so a benchmark can
// stop it without touching the shared broker on :9192 that others use.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../ready.ts';

const run = promisify(execFile);
const SERVICES = fileURLToPath(new URL('../../../scripts/services.sh', import.meta.url));

export class PrivateKafka {
  readonly dir: string;
  readonly port: number;
  readonly controllerPort: number;

  private constructor(dir: string, port: number, controllerPort: number) {
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
  }

  static async create(): Promise<PrivateKafka> {
    return new PrivateKafka(mkdtempSync(join(tmpdir(), 'tollgate-bench-kafka-')), await freePort(), await freePort());
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** Starts (or, when it runs, re-checks) the broker; resolves once it lists topics. */
  up(): Promise<void> {
    return this.#services('up');
  }

  /** A controlled shutdown (SIGTERM) of this broker only: services.sh finds it by the pid file in our dir. */
  down(): Promise<void> {
    return this.#services('down');
  }

  async destroy(): Promise<void> {
    await this.down().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #services(action: 'up' | 'down'): Promise<void> {
    await run('bash', [SERVICES, action, 'kafka'], {
      timeout: 180_000,
      env: {
        ...process.env,
        TOLLGATE_KAFKA_DIR: this.dir,
        TOLLGATE_KAFKA_PORT: String(this.port),
        TOLLGATE_KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      },
    });
  }
}
