import { Migration } from '@mikro-orm/migrations';

export class Migration20261124095124 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "users" ("id" uuid not null, "email" text null, "display_name" text not null, "password_hash" text null, "is_guest" boolean not null, "created_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "rooms" ("id" uuid not null, "room_code" char(12) not null, "host_id" uuid not null, "name" text not null, "status" text check ("status" in ('pending', 'active', 'ended')) not null, "created_at" timestamptz not null, "started_at" timestamptz null, "ended_at" timestamptz null, "settings" jsonb not null, constraint "rooms_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "rooms" add constraint "rooms_room_code_unique" unique ("room_code");`);
    this.addSql(`create index "rooms_host_history_idx" on "rooms" ("host_id", "ended_at", "id");`);

    this.addSql(
      `create table "participants" ("id" uuid not null, "room_id" uuid not null, "user_id" uuid not null, "role" text check ("role" in ('host', 'guest')) not null, "joined_at" timestamptz not null, "left_at" timestamptz null, constraint "participants_pkey" primary key ("id"));`,
    );
    this.addSql(`create unique index "participants_open_attendance_unique" on "participants" ("room_id", "user_id") where "left_at" is null;`);
    this.addSql(`create index "participants_user_room_idx" on "participants" ("user_id", "room_id");`);
    this.addSql(`create index "participants_room_user_idx" on "participants" ("room_id", "user_id");`);

    this.addSql(`alter table "rooms" add constraint "rooms_host_id_foreign" foreign key ("host_id") references "users" ("id") on update cascade;`);

    this.addSql(
      `alter table "participants" add constraint "participants_room_id_foreign" foreign key ("room_id") references "rooms" ("id") on update cascade;`,
    );
    this.addSql(
      `alter table "participants" add constraint "participants_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade;`,
    );
  }
}
