import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * How config.ts reads the variables that are more than a plain value: lists, ranges, addresses
 * (docs/configuration.md "Variables"). Each is a zod schema that turns the text into what the
 * config holds, or fails with a message saying what would be right.
 */

export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Express's `trust proxy`: none, all, a number of hops, or the proxies' addresses. */
export type TrustProxy = boolean | number | string[];

/** An entry of a TRUST_PROXY list: an address, a subnet (address/bits), or one of Express's names. */
const isProxyEntry = (entry: string) => {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
};

export const trustProxy = z
  .string()
  .transform((value, ctx): TrustProxy => {
    if (value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d{1,2}$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim());
    const bad = entries.filter((entry) => !isProxyEntry(entry));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be false, true, a hop count, or a comma-separated list of addresses, subnets, loopback, linklocal or uniquelocal (not: ${bad.join(', ')})`,
      });
      return z.NEVER;
    }
    return entries;
  })
  .default(false);

/** WEBHOOK_URL: one or more http(s) URLs, comma-separated. */
export const webhookUrls = z.string().transform((value, ctx) => {
  const urls = value.split(',').map((url) => url.trim());
  const bad = urls.filter((url) => !z.url({ protocol: /^https?$/ }).safeParse(url).success);
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `must be http(s):// URLs separated by commas (not: ${bad.join(', ') || 'an empty entry'})` });
    return z.NEVER;
  }
  return [...new Set(urls)];
});

/** REDIS_SENTINELS, REDIS_CLUSTER_NODES: `host:port` entries, comma-separated. */
export const hostPortList = z.string().transform((value, ctx) => {
  const entries = value.split(',').map((entry) => entry.trim());
  const parsed = entries.map((entry) => /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(entry));
  if (parsed.some((match) => !match || Number(match[2]) > 65535)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be host:port entries separated by commas (not: ${entries.filter((_, i) => !parsed[i]).join(', ') || value})`,
    });
    return z.NEVER;
  }
  return parsed.map((match) => ({ host: match![1]!.replace(/^\[|\]$/g, ''), port: Number(match![2]) }));
});

/** MAIL_FROM: `address` or `Name <address>`, as an email's From header has it. */
export const mailFrom = z.string().transform((value, ctx) => {
  const match = /^\s*(?:"?([^"<>]*?)"?\s*<([^<>\s]+)>|([^<>\s]+))\s*$/.exec(value);
  const address = match?.[2] ?? match?.[3] ?? '';
  if (!z.email().safeParse(address).success) {
    ctx.addIssue({ code: 'custom', message: 'must be an email address, or a name and one in angle brackets: Meetings <meetings@example.com>' });
    return z.NEVER;
  }
  return { name: match?.[1]?.trim() ?? '', address };
});

/** A `min,max` pair of numbers within [lowest, highest], min ≤ max. */
export const range = (lowest: number, highest: number, integers: boolean) =>
  z.string().transform((value, ctx) => {
    const parts = value.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
    const [min, max] = parts as [number, number];
    const number = (n: number) => Number.isFinite(n) && (!integers || Number.isInteger(n)) && n >= lowest && n <= highest;
    if (parts.length !== 2 || !parts.every(number) || min > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be min,max: two ${integers ? 'integers' : 'numbers'} from ${lowest} to ${highest}, the first not above the second`,
      });
      return z.NEVER;
    }
    return { min, max };
  });
