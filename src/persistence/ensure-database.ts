import { Client } from 'pg';

/** A PostgreSQL database the server can use, and how to let it go at shutdown. */
export interface Database {
  url: string;
  /** For the boot log: never contains the password. */
  description: string;
  stop(): Promise<void>;
}

/**
 * Creates the URL's database when it is missing; safe to run concurrently. Connects to the
 * target first, so a role that may not use the `postgres` maintenance database (common on
 * managed services) still boots when its database exists.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // 3D000: the database does not exist
  } finally {
    await probe.end().catch(() => {});
  }
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`create database ${client.escapeIdentifier(name)}`);
  } catch (error) {
    // Another process created it between our probe and our create: that is what we wanted.
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await client.end();
  }
}
