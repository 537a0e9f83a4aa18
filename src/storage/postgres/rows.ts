import type pg from 'pg';

/** Checks whether an error is a violated primary key or unique constraint (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === '23505';
}

/**
 * Runs `work` inside BEGIN … COMMIT on one pooled connection, rolling back when it throws. A connection whose
 * rollback fails, or that reported an error while checked out, is destroyed instead of returned to the pool.
 */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // Without a listener, a connection lost between two statements would raise an uncaught 'error' event.
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken = error;
  };
  client.on('error', onError);

  let result: T;
  try {
    await client.query('begin');
    result = await work(client);
    await client.query('commit');
  } catch (error) {
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    client.off('error', onError);
    client.release(broken);
    throw error;
  }
  client.off('error', onError);
  client.release(broken);
  return result;
}
