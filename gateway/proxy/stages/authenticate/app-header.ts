import type { AuthConfig } from './schema.ts';

/** The header naming the authenticated app upstream (`app_header`), lower-cased as Node keys headers. */
export const appHeaderOf = (auth: AuthConfig | undefined): string =>
  (auth?.app_header ?? 'x-tollgate-app-id').toLowerCase();
