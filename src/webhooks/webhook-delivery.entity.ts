import { BigIntType, EntitySchema } from '@mikro-orm/core';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
const statuses: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

/**
 * One event for one endpoint in the webhook outbox (`webhook_deliveries`). The room runtime inserts
 * rows with plain SQL in the command's transaction (webhook-outbox.ts) and the dispatcher moves
 * them on (webhook-dispatcher.ts); the entity is here for the schema and the CLI.
 */
export class WebhookDelivery {
  /** Insertion order: a room's rows go to an endpoint in this order. */
  readonly seq!: string;
  readonly id!: string;
  /** The event's id, its `Webhook-Id`: the same for every endpoint and every retry. */
  readonly eventId!: string;
  readonly endpoint!: string;
  readonly roomCode!: string;
  readonly type!: string;
  /** The event exactly as posted. */
  readonly body!: object;
  status!: DeliveryStatus;
  attempts!: number;
  nextAttemptAt!: Date;
  /** Set while a node is posting the row; after it, any node may take the row again. */
  leasedUntil!: Date | null;
  lastError!: string | null;
  readonly createdAt!: Date;
  deliveredAt!: Date | null;
}

export const WebhookDeliverySchema = new EntitySchema<WebhookDelivery>({
  class: WebhookDelivery,
  tableName: 'webhook_deliveries',
  properties: {
    seq: { type: new BigIntType('string'), primary: true, autoincrement: true },
    id: { type: 'uuid', unique: true },
    eventId: { type: 'uuid' },
    endpoint: { type: 'text' },
    roomCode: { type: 'text' },
    type: { type: 'text' },
    body: { type: 'json' },
    status: { enum: true, items: () => [...statuses], type: 'text', default: 'pending' },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { type: 'datetime', defaultRaw: 'now()' },
    leasedUntil: { type: 'datetime', nullable: true },
    lastError: { type: 'text', nullable: true },
    createdAt: { type: 'datetime' },
    deliveredAt: { type: 'datetime', nullable: true },
  },
  indexes: [
    // The dispatcher's two questions: which rows are due, and which is first in its room's queue.
    {
      name: 'webhook_deliveries_due_idx',
      expression: `create index "webhook_deliveries_due_idx" on "webhook_deliveries" ("next_attempt_at") where "status" = 'pending'`,
    },
    {
      name: 'webhook_deliveries_queue_idx',
      expression: `create index "webhook_deliveries_queue_idx" on "webhook_deliveries" ("endpoint", "room_code", "seq") where "status" = 'pending'`,
    },
    // Pruning and the CLI's list of failed deliveries.
    { name: 'webhook_deliveries_status_idx', properties: ['status', 'createdAt'] },
  ],
});
