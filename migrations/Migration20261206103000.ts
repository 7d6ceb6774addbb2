import { Migration } from '@mikro-orm/migrations';

/** Scheduled meetings (rooms.scheduled_start_at / scheduled_end_at) and invitations (src/invitations/). */
export class Migration20261206103000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "rooms" add column "scheduled_start_at" timestamptz null, add column "scheduled_end_at" timestamptz null;`);
    this.addSql(
      `create index "rooms_host_upcoming_idx" on "rooms" ("host_id", "scheduled_start_at", "id") where "scheduled_start_at" is not null and "status" <> 'ended';`,
    );
    this.addSql(
      `create table "invitations" ("id" uuid not null, "room_id" uuid not null, "email" text not null, "display_name" text null, "token_hash" bytea not null, "status" text check ("status" in ('pending', 'accepted', 'revoked')) not null default 'pending', "invited_by" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "accepted_by" uuid null, "accepted_at" timestamptz null, "revoked_at" timestamptz null, constraint "invitations_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "invitations" add constraint "invitations_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invitations_room_idx" on "invitations" ("room_id", "created_at");`);
    this.addSql(`create index "invitations_email_idx" on "invitations" ("email") where "status" = 'pending';`);
    this.addSql(`create index "invitations_accepted_by_idx" on "invitations" ("accepted_by");`);
    this.addSql(
      `alter table "invitations" add constraint "invitations_room_id_foreign" foreign key ("room_id") references "rooms" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_invited_by_foreign" foreign key ("invited_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_accepted_by_foreign" foreign key ("accepted_by") references "users" ("id") on update cascade on delete set null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "invitations" cascade;`);
    this.addSql(`drop index if exists "rooms_host_upcoming_idx";`);
    this.addSql(`alter table "rooms" drop column "scheduled_start_at", drop column "scheduled_end_at";`);
  }
}
