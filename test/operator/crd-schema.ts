/**
 * Validators built from the CRD's own openAPIV3Schema, as the API server would apply it: with
 * `useDefaults` an object comes back defaulted, so tests see exactly what the operator will read.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { buildCrd, type Schema } from '../../operator/api/v1alpha1/crd';
import type { AdamaCluster, AdamaClusterSpec } from '../../operator/api/v1alpha1/types';

const K8S_KEYWORDS = ['x-kubernetes-int-or-string', 'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields'];

export function openApiSchema(): Schema {
  const versions = (buildCrd()['spec'] as { versions: { schema: { openAPIV3Schema: Schema } }[] }).versions;
  return versions[0]!.schema.openAPIV3Schema;
}

export function crdValidator(useDefaults: boolean): ValidateFunction {
  // strict on, so a typo'd keyword in crd.ts fails here; formats are the API server's business.
  const ajv = new Ajv({ allErrors: true, useDefaults, validateFormats: false, strictTypes: false });
  ajv.addVocabulary(K8S_KEYWORDS);
  ajv.addFormat('int32', true).addFormat('int64', true).addFormat('date-time', true);
  return ajv.compile(openApiSchema());
}

const defaulting = crdValidator(true);

/** An AdamaCluster as the API server would store it, from a partial spec. */
export function cluster(spec: Partial<Record<keyof AdamaClusterSpec, unknown>> = {}, name = 'prod'): AdamaCluster {
  const object = {
    apiVersion: 'adama.io/v1alpha1', kind: 'AdamaCluster',
    metadata: { name, namespace: 'adama', uid: 'uid-1', generation: 1 },
    spec: { image: 'ghcr.io/example/adama:0.1.0', postgres: { secretRef: { name: 'adama-db' } }, ...spec },
  };
  if (!defaulting(object)) throw new Error(`fixture does not match the CRD: ${JSON.stringify(defaulting.errors)}`);
  return object as unknown as AdamaCluster;
}
