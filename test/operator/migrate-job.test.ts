/** The migration step's pure parts: the Jobs built per image, what a Job's status says, which children wait. */
import { jobState, migrationProgress, waitsForMigration } from '../../operator/controller/migrations';
import type { KubeObject } from '../../operator/kube/kube-client';
import { buildArchiverDeployment, buildHostStatefulSet, buildLocatorDeployment, buildMigrateJobs, buildProxyDeployment, buildServices } from '../../operator/specs';
import { cluster } from './crd-schema';

const job = (name: string, status: Record<string, unknown>): KubeObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, status });
const asKube = (o: unknown): KubeObject => o as KubeObject;

describe('buildMigrateJobs', () => {
  it('builds one Job per distinct image of the tiers that read the database, running `adama migrate` once (restartPolicy Never)', () => {
    const [only, ...rest] = buildMigrateJobs(cluster());
    expect(rest).toEqual([]);
    expect(only!.spec).toMatchObject({ backoffLimit: 3, template: { spec: { restartPolicy: 'Never', automountServiceAccountToken: false } } });
    const container = only!.spec.template.spec.containers[0]!;
    expect(container.args).toEqual(['migrate']);
    expect(container.env).toEqual([{ name: 'ADAMA_DATABASE_URL', valueFrom: { secretKeyRef: expect.objectContaining({ key: expect.any(String) }) } }]);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    // A host image of its own is a second Job; proxies behind a locator read no database.
    const two = buildMigrateJobs(cluster({ hosts: { image: 'adama:host-only' }, proxies: { image: 'adama:proxy-only' } }));
    expect(two.map((j) => j.metadata.annotations?.['adama.io/image']).sort()).toEqual(['adama:host-only', cluster().spec.image].sort());
  });

  it('names a Job after its whole template: a new image or database Secret is a new Job, the same spec the same Job', () => {
    const name = (spec?: Parameters<typeof cluster>[0]) => buildMigrateJobs(cluster(spec))[0]!.metadata.name;
    expect(name()).toBe(name());
    expect(name({ image: 'adama:other' })).not.toBe(name());
    expect(name({ postgres: { secretRef: { name: 'another-db', key: 'url' } } })).not.toBe(name());
    expect(name({ hosts: { replicas: 7 } })).toBe(name());
    expect(name()).toMatch(/^[a-z0-9-]+-migrate-[0-9a-f]{10}$/);
  });

  it('starts the tiers that read the database with --migrate false', () => {
    const c = cluster({ archiver: { enabled: true } });
    const args = (o: { spec: { template: { spec: { containers: { args?: string[] }[] } } } }) => o.spec.template.spec.containers[0]!.args;
    for (const o of [buildHostStatefulSet(c, 1), buildLocatorDeployment(c), buildArchiverDeployment(c)!]) expect(args(o)).toEqual(expect.arrayContaining(['--migrate', 'false']));
    expect(args(buildProxyDeployment(c))).not.toContain('--migrate');
    expect(args(buildProxyDeployment(cluster({ locator: { replicas: 0 } })))).toEqual(expect.arrayContaining(['--migrate', 'false']));
  });
});

describe('migration progress', () => {
  it('reads Complete or succeeded as done, a Failed condition as final, anything else as running', () => {
    expect(jobState(job('a', {}))).toEqual({ state: 'Running' });
    expect(jobState(job('a', { active: 1, failed: 2 }))).toEqual({ state: 'Running' });
    expect(jobState(job('a', { succeeded: 1 }))).toEqual({ state: 'Succeeded' });
    expect(jobState(job('a', { conditions: [{ type: 'Complete', status: 'True' }] }))).toEqual({ state: 'Succeeded' });
    expect(jobState(job('a', { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'too long' }] }))).toEqual({ state: 'Failed', why: 'DeadlineExceeded: too long' });
  });

  it('fails when any Job failed, waits while any runs, and names the Jobs', () => {
    const ok = job('m-1', { succeeded: 1 });
    expect(migrationProgress([ok, job('m-2', { active: 1 })])).toMatchObject({ state: 'Running', message: expect.stringContaining('m-2') });
    expect(migrationProgress([ok, job('m-2', { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] })])).toMatchObject({ state: 'Failed', message: expect.stringContaining('Job m-2: BackoffLimitExceeded') });
    expect(migrationProgress([ok])).toMatchObject({ state: 'Succeeded', message: expect.stringContaining('m-1') });
  });

  it('holds hosts, the locator, the archiver, and proxies only when they read the database', () => {
    const c = cluster({ archiver: { enabled: true } });
    expect(waitsForMigration(c, asKube(buildHostStatefulSet(c, 1)))).toBe(true);
    expect(waitsForMigration(c, asKube(buildLocatorDeployment(c)))).toBe(true);
    expect(waitsForMigration(c, asKube(buildArchiverDeployment(c)))).toBe(true);
    expect(waitsForMigration(c, asKube(buildProxyDeployment(c)))).toBe(false);
    for (const s of buildServices(c)) expect(waitsForMigration(c, asKube(s))).toBe(false);
    const noLocator = cluster({ locator: { replicas: 0 } });
    expect(waitsForMigration(noLocator, asKube(buildProxyDeployment(noLocator)))).toBe(true);
  });
});
