/** @module specs — pure builders of every child object; tested without a cluster. */
export { buildHostStatefulSet, hostPreStopCommand, hostTerminationGraceSeconds } from './host-statefulset';
export { buildProxyDeployment, buildLocatorDeployment, buildArchiverDeployment } from './deployments';
export { buildServices } from './services';
export { buildPodDisruptionBudgets } from './pod-disruption-budgets';
export { buildNetworkPolicies } from './network-policies';
export { buildConfigMap } from './config-map';
export { buildCertificates } from './internal-tls';
export { buildMigrateJobs, NO_MIGRATE } from './migrate-job';
export { buildGossipSidecar } from './gossip-sidecar';
export { names, labels, selectorLabels, ownerReference } from './common';
