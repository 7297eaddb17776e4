import { loadConfigFile } from '../../gateway/control/config/load.ts';
import { createLogger } from '../../gateway/log.ts';
import { startSingle } from '../../gateway/process/single.ts';
import { testGatewayOf, type TestGateway } from './gateway.ts';

/**
 * Starts a gateway again from a closed TestGateway's file and store dir, as a
 * process restart would (admin edits in the store, the file as it is now).
 * Listeners get new ports; writeConfig keeps writing the same file.
 */
export async function restartGateway(prev: TestGateway): Promise<TestGateway> {
  const loaded = loadConfigFile(prev.file);
  if (!loaded.ok) throw new Error(`config invalid on restart: ${JSON.stringify(loaded.errors)}`);
  const gw = await startSingle(
    { file: prev.file, raw: loaded.raw!, text: loaded.text!, config: loaded.config },
    createLogger(loaded.config.log.level),
  );
  return testGatewayOf(gw, prev.file, prev.dir, prev.writeConfig);
}
