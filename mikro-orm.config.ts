import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { migrationsList } from './migrations';
import { UserSchema } from './src/auth/user.entity';
import { InvitationSchema } from './src/invitations/invitation.entity';
import { MailOutboxSchema } from './src/mail/mail-outbox.entity';
import { AttendanceSchema } from './src/rooms/attendance.entity';
import { RoomSchema } from './src/rooms/room.entity';
import { WebhookDeliverySchema } from './src/webhooks/webhook-delivery.entity';

/** Where `npm run migration:create` writes new migrations (relative to the project root). */
export const migrationsPath = 'migrations';

/**
 * The MikroORM configuration for one database. The server, `npm run migrate`,
 * `npm run migration:create` and the tests all build their options here (through
 * src/persistence/orm.ts); there is no separate MikroORM CLI configuration to keep in step.
 */
export function ormOptions(clientUrl: string, logger?: Logger): Options {
  return defineConfig({
    clientUrl,
    entities: [UserSchema, RoomSchema, AttendanceSchema, WebhookDeliverySchema, InvitationSchema, MailOutboxSchema],
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
