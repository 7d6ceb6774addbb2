import { Migration } from '@mikro-orm/migrations';

/** The webhook outbox: one row per lifecycle event and endpoint (src/webhooks/). */
export class Migration20261203150758 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "webhook_deliveries" ("seq" bigserial primary key, "id" uuid not null, "event_id" uuid not null, "endpoint" text not null, "room_code" text not null, "type" text not null, "body" jsonb not null, "status" text check ("status" in ('pending', 'delivered', 'failed')) not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "leased_until" timestamptz null, "last_error" text null, "created_at" timestamptz not null, "delivered_at" timestamptz null);`,
    );
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_id_unique" unique ("id");`);
    this.addSql(`create index "webhook_deliveries_due_idx" on "webhook_deliveries" ("next_attempt_at") where "status" = 'pending';`);
    this.addSql(`create index "webhook_deliveries_queue_idx" on "webhook_deliveries" ("endpoint", "room_code", "seq") where "status" = 'pending';`);
    this.addSql(`create index "webhook_deliveries_status_idx" on "webhook_deliveries" ("status", "created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
  }
}
