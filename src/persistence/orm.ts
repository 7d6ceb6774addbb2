import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { migrationsList } from '../../migrations';
import { UserSchema } from '../auth/user.entity';
import { ParticipantSchema } from '../rooms/participant.entity';
import { RoomSchema } from '../rooms/room.entity';

export type Orm = MikroORM;

/** Where `npm run migration:create` writes new migrations (relative to the project root). */
export const migrationsPath = 'migrations';

/** The MikroORM options for one database; shared by the app, the migration command and the tests. */
export function ormOptions(clientUrl: string, logger?: Logger): Options {
  return defineConfig({
    clientUrl,
    entities: [UserSchema, RoomSchema, ParticipantSchema],
    extensions: [Migrator],
    // Listed explicitly (migrations/index.ts) so the same code runs from TypeScript and from dist/.
    migrations: { migrationsList, path: migrationsPath, snapshot: false, transactional: true, allOrNothing: true },
    // Each request, socket event and actor effect forks its own entity manager; using the
    // global one by accident throws instead of silently sharing an identity map.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    pool: { min: 0, max: 10 },
    logger: (message) => logger?.debug({ component: 'orm' }, message),
    // knex would print its warnings (e.g. a connection the server terminated) with console.log.
    driverOptions: {
      log: {
        warn: (message: unknown) => logger?.warn({ component: 'knex' }, String(message)),
        error: (message: unknown) => logger?.error({ component: 'knex' }, String(message)),
        deprecate: (message: unknown) => logger?.warn({ component: 'knex' }, String(message)),
        debug: (message: unknown) => logger?.debug({ component: 'knex' }, String(message)),
      },
    },
  });
}

/** Connects to PostgreSQL; `migrate` applies pending migrations first. */
export async function openOrm(clientUrl: string, options: { migrate: boolean; logger?: Logger }): Promise<Orm> {
  const orm = await MikroORM.init(ormOptions(clientUrl, options.logger));
  if (options.migrate) {
    const applied = await orm.migrator.up();
    if (applied.length > 0) options.logger?.info({ migrations: applied.map((m) => m.name) }, 'applied migrations');
  }
  return orm;
}
