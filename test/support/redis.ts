import { Redis } from 'ioredis';
import { testRedisUrl } from './env';

/** Every key under a prefix (SCAN), for asserting on live state and for cleanup. */
export async function redisKeys(pattern: string): Promise<string[]> {
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  } finally {
    await redis.quit();
  }
}

/** Deletes every key under a prefix (rooms a test left running). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const keys = await redisKeys(`${prefix}*`);
  if (keys.length === 0) return;
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
  try {
    await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

/** A hash's fields and values (the room's connections, say), read once. */
export async function redisHash(key: string): Promise<Record<string, string>> {
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
  try {
    return await redis.hgetall(key);
  } finally {
    await redis.quit();
  }
}
