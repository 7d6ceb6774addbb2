import { loadConfig } from '../config/config';
import { createLogger } from '../logging/logger';
import { openDatabase } from './database';
import { migrationsPath } from '../../mikro-orm.config';
import { openOrm } from './orm';

/**
 * `npm run migrate` (up) and `npm run migration:create [-- --initial]`, against DATABASE_URL or
 * the embedded PostgreSQL, exactly as the server would resolve them.
 */
async function main(command: string | undefined, flags: string[]): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  try {
    if (command === 'create') {
      const orm = await openOrm(database.url, { migrate: !flags.includes('--initial'), logger });
      try {
        const result = await orm.migrator.createMigration(migrationsPath, false, flags.includes('--initial'));
        console.log(result.fileName ? `created ${migrationsPath}/${result.fileName}: add it to migrations/index.ts` : 'no schema changes');
      } finally {
        await orm.close();
      }
    } else if (command === undefined || command === 'up') {
      const orm = await openOrm(database.url, { migrate: true, logger });
      await orm.close();
      console.log(`migrations are up to date on ${database.description}`);
    } else {
      throw new Error(`unknown command "${command}" (expected "up" or "create")`);
    }
  } finally {
    await database.stop();
  }
}

const [command, ...flags] = process.argv.slice(2);
main(command, flags).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
