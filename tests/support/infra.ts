// Drives the project's own infra script from tests (the same commands a user runs).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { REPO_ROOT, serviceDatabaseUrl, type ServiceDatabase } from '@shop/lib/db/databases';

const exec = promisify(execFile);

export async function infra(command: string): Promise<{ stdout: string; stderr: string }> {
  return exec('bash', [`${REPO_ROOT}scripts/infra.sh`, command], { cwd: REPO_ROOT, timeout: 300_000 });
}

/** A pg pool on a service database, closed by the caller (usually in afterAll). */
export function pool(db: ServiceDatabase, max = 5): pg.Pool {
  const p = new pg.Pool({ connectionString: serviceDatabaseUrl(db), max });
  // Idle clients die when a test restarts Postgres on purpose; the next query reconnects.
  p.on('error', () => undefined);
  return p;
}
