import { dirname, isAbsolute, resolve } from 'node:path';

/**
 * Where a relative path in the config (a listener's certificate files) is
 * taken from: the directory of the config file the gateway was started with.
 * The CLI sets TOLLGATE_CONFIG to that file's absolute path before anything
 * else runs, so the config thread and cluster workers, which inherit the
 * environment, resolve a path the same way, and so does a config that comes
 * back from history or the admin API. Without one: the working directory.
 */
export function configBaseDir(env: NodeJS.ProcessEnv = process.env): string {
  const file = env.TOLLGATE_CONFIG;
  return file ? dirname(resolve(file)) : process.cwd();
}

/** `path` as the gateway opens it. */
export function configPath(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return isAbsolute(path) ? path : resolve(configBaseDir(env), path);
}
