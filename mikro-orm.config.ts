import { loadConfig } from './src/config/config';
import { ormOptions } from './src/persistence/orm';

/**
 * The MikroORM configuration for external tooling pointed at DATABASE_URL. The server and
 * `npm run migrate` build the same options through `ormOptions()` (src/persistence/orm.ts),
 * which is also where the embedded-PostgreSQL fallback is resolved.
 */
const { databaseUrl } = loadConfig();
if (!databaseUrl) throw new Error('Set DATABASE_URL to use the MikroORM configuration directly.');

export default ormOptions(databaseUrl);
