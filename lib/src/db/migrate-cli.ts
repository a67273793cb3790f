// `npm run migrate`: applies every service's migrations to its database.
import { migrate } from './migrate.ts';
import { SERVICE_DATABASES, migrationsDir, serviceDatabaseUrl } from './databases.ts';

for (const db of SERVICE_DATABASES) {
  const { applied, skipped } = await migrate(serviceDatabaseUrl(db), migrationsDir(db));
  const what = applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date';
  console.error(`[migrate] ${db}: ${what} (${skipped.length} already applied)`);
}
