import type { ClientBase, QueryResult, QueryResultRow } from 'pg';
import type { Orm } from './orm';

/**
 * Plain SQL on the ORM's own connection pool, for the hot paths of the room actor and the
 * meetings API: there, the ORM's unit of work, query builder and per-call entity manager cost
 * more than the query itself. Everything else (history, accounts, migrations) uses the ORM.
 */
export interface Sql {
  /** One statement with bound parameters ($1, $2, …), parsed and planned once per connection under its name. */
  query<R extends QueryResultRow = QueryResultRow>(statement: NamedStatement, params: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * Several statements in one round trip (one simple-protocol message), which PostgreSQL runs as
   * one transaction: all of them or, if one fails, none. Each still gets its own snapshot (READ
   * COMMITTED), so a statement sees what others committed while an earlier one waited for a
   * lock. Parameters are `?`, inlined as literals by the ORM's own formatter. One result per statement.
   */
  batch(statements: readonly SqlStatement[]): Promise<QueryResult[]>;
}

/** A statement PostgreSQL keeps prepared on each connection: one name, one text, for the process's lifetime. */
export interface NamedStatement {
  readonly name: string;
  readonly text: string;
}

export type SqlStatement = readonly [text: string, params: readonly unknown[]];

export function createSql(orm: Orm): Sql {
  const connection = orm.em.getConnection();

  async function withClient<T>(work: (client: ClientBase) => Promise<T>): Promise<T> {
    // knex's pool of pg clients (the ORM's): its size, timeouts and health checks apply.
    const pool = connection.getKnex().client;
    const client = (await pool.acquireConnection()) as ClientBase;
    try {
      return await work(client);
    } finally {
      await pool.releaseConnection(client);
    }
  }

  return {
    query: <R extends QueryResultRow>(statement: NamedStatement, params: readonly unknown[]) =>
      withClient((client) => client.query<R>({ name: statement.name, text: statement.text, values: [...params] })),

    async batch(statements) {
      const platform = connection.getPlatform();
      const text = statements.map(([sql, params]) => platform.formatQuery(sql, [...params])).join(';\n');
      // pg answers a message of one statement with its result, of several with an array of them.
      const results = (await withClient((client) => client.query(text))) as QueryResult | QueryResult[];
      return Array.isArray(results) ? results : [results];
    },
  };
}
