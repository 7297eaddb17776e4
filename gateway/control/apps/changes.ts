/** What an app change takes and answers (manager.ts): the admin API's input, its errors, the versions it names. */
import type { IdentityDoc } from './doc.ts';
import type { App, AppStatus } from './types.ts';

/** The mutable fields of an app, as the admin API takes them. */
export interface AppInput {
  name: string;
  status?: AppStatus;
  allowed_ips?: string[];
  qps?: number | null;
  burst?: number | null;
  qpd?: number | null;
  roles?: string[];
}

/** What a change is about, and so which version its If-Match names and a 412 or 409 reports: the apps' or the signing
 * keys'. */
export type IdentityPart = 'apps' | 'keys';

export class AppError extends Error {
  /** version_mismatch: If-Match named other versions; conflict: other nodes saved first on every try. */
  readonly kind: 'not_found' | 'exists' | 'full' | 'version_mismatch' | 'conflict';
  /** For version_mismatch and conflict: the version of the changed part (apps or keys) now served. */
  readonly serving: number | undefined;
  constructor(kind: AppError['kind'], message: string, serving?: number) {
    super(message);
    this.kind = kind;
    this.serving = serving;
  }
}

/** A change's new apps and keys: an array left as it was (the same array) leaves that part's version as it was. */
export type Change<T> = { doc: Pick<IdentityDoc, 'apps' | 'keys'>; result: T } | undefined;

export const partVersion = (doc: IdentityDoc, part: IdentityPart) =>
  part === 'apps' ? doc.appsVersion : doc.keysVersion;
export const PART_NAME: Record<IdentityPart, string> = { apps: 'the apps are', keys: 'the signing keys are' };

/** What a change returns with the version of the part it changed, apps or keys (the reply's ETag). */
export type Saved<T> = T & { version: number };

export function found(doc: IdentityDoc, id: string): App {
  const app = doc.apps.find((a) => a.id === id);
  if (!app) throw new AppError('not_found', `no app with id "${id}"`);
  return app;
}

export function fields(input: AppInput): Omit<App, 'id' | 'secrets' | 'createdAt' | 'updatedAt'> {
  return {
    name: input.name,
    status: input.status ?? 'enabled',
    allowedIps: input.allowed_ips ?? [],
    qps: input.qps ?? undefined,
    burst: input.burst ?? undefined,
    qpd: input.qpd ?? undefined,
    roles: input.roles ?? [],
  };
}
