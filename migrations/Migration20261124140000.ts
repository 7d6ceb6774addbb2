import { Migration } from '@mikro-orm/migrations';

/** Why an attendance ended; `removed` rows are the room's bans (a removed user may not rejoin). */
export class Migration20261124140000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "participants" add column "left_reason" text check ("left_reason" in ('left', 'removed', 'disconnected', 'ended')) null;`);
    this.addSql(`create index "participants_room_removed_idx" on "participants" ("room_id", "user_id") where "left_reason" = 'removed';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "participants_room_removed_idx";`);
    this.addSql(`alter table "participants" drop column "left_reason";`);
  }
}
