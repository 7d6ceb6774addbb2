import { Migration } from '@mikro-orm/migrations';

/** The mail outbox: one row per invitation email to send (src/mail/, docs/email.md). */
export class Migration20261206110000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "mail_outbox" ("seq" bigserial primary key, "id" uuid not null, "invitation_id" uuid not null, "kind" text check ("kind" in ('invitation', 'update', 'cancel')) not null, "token" text null, "status" text check ("status" in ('pending', 'sent', 'failed')) not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "leased_until" timestamptz null, "last_error" text null, "created_at" timestamptz not null, "sent_at" timestamptz null);`,
    );
    this.addSql(`alter table "mail_outbox" add constraint "mail_outbox_id_unique" unique ("id");`);
    this.addSql(`create index "mail_outbox_due_idx" on "mail_outbox" ("next_attempt_at") where "status" = 'pending';`);
    this.addSql(`create index "mail_outbox_invitation_idx" on "mail_outbox" ("invitation_id", "seq");`);
    this.addSql(`create index "mail_outbox_status_idx" on "mail_outbox" ("status", "created_at");`);
    this.addSql(
      `alter table "mail_outbox" add constraint "mail_outbox_invitation_id_foreign" foreign key ("invitation_id") references "invitations" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "mail_outbox" cascade;`);
  }
}
