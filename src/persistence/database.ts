import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { startEmbeddedPostgres } from './embedded-postgres';
import { ensureDatabase, type Database } from './ensure-database';

export type { Database };

/**
 * DATABASE_URL when set (creating the database if it does not exist), otherwise an embedded
 * PostgreSQL kept under `.data/` so that `npm start` needs nothing installed.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.databaseUrl) {
    await ensureDatabase(config.databaseUrl);
    return { url: config.databaseUrl, description: describeUrl(config.databaseUrl), stop: async () => {} };
  }
  return startEmbeddedPostgres({ dataDir: '.data', logger });
}

/** `postgres://user@host:port/db` without the password, for logs. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  u.password = '';
  return `PostgreSQL ${u.toString()}`;
}
