import { Migration } from '@mikro-orm/migrations';

/** The fencing epoch of the cluster node allowed to write a room (src/cluster/fencing.ts). */
export class Migration20261124150000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "rooms" add column "owner_epoch" bigint not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "rooms" drop column "owner_epoch";`);
  }
}
