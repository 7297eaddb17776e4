// `npm run migrate`: the collector's `migrate` command (collector/cluster/migrate-command.ts) from the sources.
import { migrateCommand } from '../collector/cluster/migrate-command.ts';

migrateCommand().catch((error: unknown) => {
  console.error(`migrate: failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
