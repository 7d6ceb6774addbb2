import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { ormOptions } from '../../mikro-orm.config';

export type Orm = MikroORM;

/** Connects to PostgreSQL with the options of mikro-orm.config.ts; `migrate` applies pending migrations first. */
export async function openOrm(clientUrl: string, options: { migrate: boolean; logger?: Logger }): Promise<Orm> {
  const orm = await MikroORM.init(ormOptions(clientUrl, options.logger));
  if (options.migrate) {
    const applied = await orm.migrator.up();
    if (applied.length > 0) options.logger?.info({ migrations: applied.map((m) => m.name) }, 'applied migrations');
  }
  return orm;
}
