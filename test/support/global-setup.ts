import { buildWeb } from '../../scripts/build-web';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { openOrm } from '../../src/persistence/orm';
import { testDatabaseUrl } from './env';

/** Runs once before the suite: the test database exists and is migrated (servers then skip migrating), and the page is built. */
export default async function globalSetup(): Promise<void> {
  await ensureDatabase(testDatabaseUrl);
  const orm = await openOrm(testDatabaseUrl, { migrate: true });
  await orm.close(true);
  await buildWeb();
}
