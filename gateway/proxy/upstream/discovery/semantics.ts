/** Registry rules a schema cannot state: credentials in pairs, TLS only to https:// addresses, readable files. */
import { accessSync, constants } from 'node:fs';
import { isAbsolute } from 'node:path';
import { readTlsFiles, type TlsFiles } from '../tls-files.ts';

type Report = (path: string, message: string) => void;

export interface RegistryBlocks {
  etcd?: { endpoints: string[]; username?: string; password_file?: string; tls?: TlsFiles };
  consul?: { address: string; token?: string; token_file?: string; tls?: TlsFiles };
}

/** `base` is the upstream's path. */
export function checkRegistry(d: RegistryBlocks, base: string, err: Report): void {
  const etcd = d.etcd;
  if (etcd) {
    const at = `${base}/discovery/etcd`;
    if ((etcd.username === undefined) !== (etcd.password_file === undefined)) {
      const missing = etcd.username === undefined ? 'username' : 'password_file';
      err(`${at}/${missing}`, `required with ${missing === 'username' ? 'password_file' : 'username'}`);
    }
    if (etcd.password_file !== undefined) checkReadable(etcd.password_file, `${at}/password_file`, err);
    checkTls(etcd.endpoints, etcd.tls, at, err);
  }
  const consul = d.consul;
  if (consul) {
    const at = `${base}/discovery/consul`;
    if (consul.token !== undefined && consul.token_file !== undefined)
      err(`${at}/token_file`, 'use one of token and token_file, not both');
    if (consul.token_file !== undefined) checkReadable(consul.token_file, `${at}/token_file`, err);
    checkTls([consul.address], consul.tls, at, err);
  }
}

function checkTls(urls: string[], tls: TlsFiles | undefined, at: string, err: Report): void {
  if (tls === undefined) return;
  const plain = urls.find((u) => !u.startsWith('https:'));
  if (plain !== undefined) err(`${at}/tls`, `needs https:// addresses: ${plain} is plaintext`);
  readTlsFiles(tls, `${at}/tls`, err);
}

/** A secret's file: an absolute path the gateway can read (its text is read at each reconnect, never kept). */
function checkReadable(path: string, at: string, err: Report): void {
  if (!isAbsolute(path)) {
    err(at, `must be an absolute path (got ${JSON.stringify(path)})`);
    return;
  }
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    err(at, `cannot read ${path}: ${(e as Error).message}`);
  }
}
