import type { Constructor } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { Migration20261124095124 } from './Migration20261124095124';
import { Migration20261124140000 } from './Migration20261124140000';
import { Migration20261124150000 } from './Migration20261124150000';
import { Migration20261203150758 } from './Migration20261203150758';
import { Migration20261206103000 } from './Migration20261206103000';
import { Migration20261206110000 } from './Migration20261206110000';

/**
 * Every migration, in order. `npm run migration:create` writes a new file here; add its class
 * to this list (listing them keeps `dist/` and ts-jest free of file-system globbing).
 */
export const migrationsList: { name: string; class: Constructor<Migration> }[] = [
  { name: 'Migration20261124095124', class: Migration20261124095124 },
  { name: 'Migration20261124140000', class: Migration20261124140000 },
  { name: 'Migration20261124150000', class: Migration20261124150000 },
  { name: 'Migration20261203150758', class: Migration20261203150758 },
  { name: 'Migration20261206103000', class: Migration20261206103000 },
  { name: 'Migration20261206110000', class: Migration20261206110000 },
];
