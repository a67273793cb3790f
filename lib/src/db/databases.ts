import { fileURLToPath } from 'node:url';
import { EnvReader } from '../config.ts';
import { SERVICES, type ServiceDatabaseName } from '../manifest.ts';

/** The services' databases (lib/src/manifest.ts), by the folder name of their Prisma schema. */
export const SERVICE_DATABASES: readonly ServiceDatabaseName[] = SERVICES.map((s) => s.database);
export type ServiceDatabase = ServiceDatabaseName;

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function migrationsDir(db: ServiceDatabase): string {
  return `${REPO_ROOT}prisma/${db}/migrations`;
}

/** `<NAME>_DATABASE_URL`, else the local server with the database named `<NAME>_DB` (default: the folder name). */
export function serviceDatabaseUrl(db: ServiceDatabase, env: EnvReader = new EnvReader()): string {
  const upper = db.toUpperCase();
  const name = env.str(`${upper}_DB`, db);
  const host = env.str('PGHOST', '127.0.0.1');
  const port = env.str('PGPORT', '5432');
  const user = env.str('PGUSER', 'postgres');
  return env.str(`${upper}_DATABASE_URL`, `postgresql://${user}@${host}:${port}/${name}`);
}
