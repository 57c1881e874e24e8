/** Runs the DataService contract on an in-memory PGlite served by startEmbeddedPostgres. */
import { Pool } from 'pg';
import { runArchiveDataContract } from './archive-data.contract';
import { runDataServiceContract, type ContractFixture } from './data-service.contract';
import { migrate } from './migrations';
import { startEmbeddedPostgres } from './pglite-server';
import { SqlDataService } from './sql-data-service';

async function pgliteFixture(): Promise<ContractFixture> {
  const embedded = await startEmbeddedPostgres();
  const pool = new Pool({ connectionString: embedded.connectionString, max: 8 });
  await migrate(pool);
  const data = new SqlDataService(pool);
  return {
    data,
    connectionString: embedded.connectionString,
    close: async () => { await data.close(); await embedded.close(); },
  };
}

runDataServiceContract('SqlDataService on embedded PGlite', pgliteFixture);
runArchiveDataContract('SqlDataService on embedded PGlite', pgliteFixture);
