/**
 * @module migrations
 * Pure decisions of the migration step (operator/specs/migrate-job.ts): what a Job's status says,
 * what the set of Jobs says together, and which children wait for it. While the schema is not
 * migrated for every image, the tiers that read the database keep the objects they run now (a
 * roll waits; a new cluster creates them once the Job succeeded); everything else is applied.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import type { KubeObject } from '../kube/kube-client';
import { names } from '../specs/common';

export type MigrationState = 'Succeeded' | 'Running' | 'Failed';

export interface MigrationProgress {
  state: MigrationState;
  /** For the Migrated condition and events: which Job, and why it failed. */
  message: string;
}

interface JobCondition { type?: string; status?: string; reason?: string; message?: string }

/** One Job: Complete (or succeeded >= 1) is done; a Failed condition is final; anything else runs. */
export function jobState(job: KubeObject): { state: MigrationState; why?: string } {
  const status = (job as { status?: { succeeded?: number; conditions?: JobCondition[] } }).status ?? {};
  const conditions = status.conditions ?? [];
  const failed = conditions.find((x) => x.type === 'Failed' && x.status === 'True');
  if (failed) return { state: 'Failed', why: [failed.reason, failed.message].filter(Boolean).join(': ') || 'failed' };
  if ((status.succeeded ?? 0) >= 1 || conditions.some((x) => x.type === 'Complete' && x.status === 'True')) return { state: 'Succeeded' };
  return { state: 'Running' };
}

/** All Jobs together: any failure fails the step, any running one makes it wait. */
export function migrationProgress(jobs: readonly KubeObject[]): MigrationProgress {
  const states = jobs.map((j) => ({ name: j.metadata.name ?? '', ...jobState(j) }));
  const failed = states.filter((s) => s.state === 'Failed');
  if (failed.length > 0) {
    return { state: 'Failed', message: `schema migration failed: ${failed.map((f) => `Job ${f.name}: ${f.why ?? 'failed'}`).join('; ')}; the tiers keep running their current version (fix the cause, then delete the Job to run it again)` };
  }
  const running = states.filter((s) => s.state === 'Running');
  if (running.length > 0) return { state: 'Running', message: `waiting for schema migration Job ${running.map((r) => r.name).join(', ')} before the tiers that read the database change` };
  return { state: 'Succeeded', message: `the schema is migrated for every image (Job ${states.map((s) => s.name).join(', ')})` };
}

/** Children that read the database and so wait for the migration: hosts, locator, archiver, proxies without a locator. */
export function waitsForMigration(c: AdamaCluster, o: KubeObject): boolean {
  const name = o.metadata.name;
  if (o.kind === 'StatefulSet') return name === names.hosts(c);
  if (o.kind !== 'Deployment') return false;
  if (name === names.locator(c) || name === names.archiver(c)) return true;
  return name === names.proxies(c) && c.spec.locator.replicas === 0;
}
