import { specProblems } from '../../operator/controller/validate-spec';
import { cluster } from './crd-schema';

describe('specProblems', () => {
  test('the defaults are valid', () => {
    expect(specProblems(cluster())).toEqual([]);
  });

  test('an archiver without an object store is refused before its pods could crash-loop', () => {
    expect(specProblems(cluster({ archiver: { enabled: true } }))).toEqual(['spec.archiver.enabled needs spec.objectStore (the archiver has nowhere to write)']);
    expect(specProblems(cluster({ archiver: { enabled: true }, objectStore: { secretRef: { name: 'store' } } }))).toEqual([]);
  });

  test('ports that share a pod must differ', () => {
    expect(specProblems(cluster({ hosts: { port: 9464 } }))).toEqual(['spec.hosts.port and spec.metrics.port are both 9464']);
    expect(specProblems(cluster({ hosts: { port: 9464 }, metrics: { enabled: false } }))).toEqual([]);
  });
});
