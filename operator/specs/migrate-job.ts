/**
 * @module migrate-job
 * The schema migration step of a rollout: a Job that runs `adama migrate` once per image, so that
 * the tiers start with `--migrate false` and none of them changes the schema under the others
 * (docs/kubernetes.md, "Migrations"). One Job per distinct image among the tiers that read the
 * database (hosts, the locator, the archiver, proxies without a locator), because each image
 * checks for the migrations it knows. The name carries a digest of the Job's whole template:
 * a template is immutable once created, so anything that changes it (image, database Secret,
 * pull secrets) is a new Job, and a migration that already ran is never started twice.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import {
  childMeta, containerSecurityContext, databaseEnv, digest, podSecurityContext, TMP_MOUNT, TMP_VOLUME,
} from './common';
import type { Job } from './k8s';

/** What the tiers that read the database are started with: the Job migrated before they roll. */
export const NO_MIGRATE: readonly string[] = ['--migrate', 'false'];

/** Retries of a failed migration pod before the Job is Failed (each retry a new pod, its logs kept). */
export const MIGRATE_BACKOFF_LIMIT = 3;
/** A migration that runs longer than this is stopped and the Job fails. */
export const MIGRATE_DEADLINE_SECONDS = 600;

/** The images of the tiers that read the database, in a stable order. */
export function databaseImages(c: AdamaCluster): string[] {
  const images = [c.spec.hosts.image ?? c.spec.image, c.spec.locator.image ?? c.spec.image];
  if (c.spec.archiver.enabled) images.push(c.spec.archiver.image ?? c.spec.image);
  if (c.spec.locator.replicas === 0) images.push(c.spec.proxies.image ?? c.spec.image);
  return [...new Set(images)].sort();
}

export function buildMigrateJobs(c: AdamaCluster): Job[] {
  return databaseImages(c).map((image) => buildMigrateJob(c, image));
}

function buildMigrateJob(c: AdamaCluster, image: string): Job {
  const template: Job['spec']['template'] = {
    metadata: { labels: childMeta(c, '', 'migrate').labels, annotations: {} },
    spec: {
      restartPolicy: 'Never',
      containers: [{
        name: 'migrate',
        image,
        imagePullPolicy: c.spec.imagePullPolicy,
        args: ['migrate'],
        ports: [],
        env: databaseEnv(c),
        securityContext: containerSecurityContext(),
        volumeMounts: [TMP_MOUNT],
      }],
      securityContext: podSecurityContext(),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 30,
      ...(c.spec.imagePullSecrets?.length ? { imagePullSecrets: c.spec.imagePullSecrets } : {}),
      volumes: [TMP_VOLUME],
    },
  };
  const meta = childMeta(c, `${c.metadata.name}-migrate-${digest(template).slice(0, 10)}`, 'migrate');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...meta, annotations: { 'adama.io/image': image } },
    spec: { backoffLimit: MIGRATE_BACKOFF_LIMIT, activeDeadlineSeconds: MIGRATE_DEADLINE_SECONDS, template },
  };
}
