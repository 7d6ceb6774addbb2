import { loadConfig } from '../config/config';
import { createLogger } from '../logging/logger';
import { openDatabase } from '../persistence/database';
import { openOrm } from '../persistence/orm';
import { WebhookDelivery } from './webhook-delivery.entity';

const usage = `usage: npm run webhooks -- failed [limit]           list deliveries that gave up, newest first (JSON lines)
       npm run webhooks -- replay <seq|event id>...   deliver those again from the first attempt
       npm run webhooks -- replay --all-failed        deliver every failed one again`;

/**
 * The operator's view of the webhook outbox (docs/webhooks.md "Guarantees"), against DATABASE_URL as the
 * server resolves it. A replayed delivery goes back to `pending` with its attempts reset; the
 * dispatchers of the running nodes pick it up within a second, in its room's order.
 */
async function main(command: string | undefined, args: string[]): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  const orm = await openOrm(database.url, { migrate: false, logger });
  try {
    const em = orm.em.fork();
    if (command === 'failed') {
      const limit = Number(args[0] ?? 100);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, not "${args[0]}"`);
      const failed = await em.find(WebhookDelivery, { status: 'failed' }, { orderBy: { createdAt: 'desc' }, limit });
      for (const d of failed) {
        console.log(
          JSON.stringify({
            seq: d.seq,
            event_id: d.eventId,
            type: d.type,
            room_code: d.roomCode,
            endpoint: d.endpoint,
            attempts: d.attempts,
            last_error: d.lastError,
            created_at: d.createdAt,
          }),
        );
      }
      if (failed.length === 0) console.error('no failed deliveries');
    } else if (command === 'replay' && args.length > 0) {
      const everything = args.includes('--all-failed');
      const seqs = args.filter((arg) => /^\d+$/.test(arg));
      const eventIds = args.filter((arg) => /^[0-9a-f-]{36}$/i.test(arg));
      const unknown = args.filter((arg) => arg !== '--all-failed' && !seqs.includes(arg) && !eventIds.includes(arg));
      if (unknown.length > 0) throw new Error(`not a delivery seq or event id: ${unknown.join(', ')}\n${usage}`);
      const which = everything ? {} : { $or: [{ seq: { $in: seqs } }, { eventId: { $in: eventIds } }] };
      const replayed = await em.nativeUpdate(
        WebhookDelivery,
        { status: 'failed', ...which },
        { status: 'pending', attempts: 0, nextAttemptAt: new Date(), leasedUntil: null, lastError: null },
      );
      console.log(`${replayed} failed deliveries queued again`);
    } else {
      throw new Error(usage);
    }
  } finally {
    await orm.close();
    await database.stop();
  }
}

const [command, ...args] = process.argv.slice(2);
main(command, args).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
