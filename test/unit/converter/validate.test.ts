// Names and values checked where they are parsed: each bad namespace, size, storage class,
// image, label, annotation, secret, quantity or env name is a diagnostic naming the cell or
// setting, and the bad value is not kept (so it can never reach the cluster).

import * as assert from 'node:assert/strict';
import { parseCellTags } from '../../../src/converter/tags';
import { readNotebookSettings } from '../../../src/converter/notebook';
import type { Diagnostic } from '../../../src/converter/diagnostics';
import * as valid from '../../../src/converter/validate';

function tags(list: string[]) {
  const diagnostics: Diagnostic[] = [];
  const result = parseCellTags(list, 4, diagnostics);
  return { result, errors: diagnostics.filter((d) => d.severity === 'error') };
}

function settings(metadata: Record<string, unknown>) {
  const diagnostics: Diagnostic[] = [];
  const result = readNotebookSettings(metadata, diagnostics);
  return { result, errors: diagnostics.filter((d) => d.severity === 'error') };
}

describe('validation at parse time', () => {
  it('a bad tag value is an error on its cell naming the part and the rule, and is not kept', () => {
    const cases: [string, RegExp][] = [
      ['secret:my-secret:api key:API_KEY', /the secret key "api key" is not valid: a secret key is letters, digits/],
      ['secret:My_Secret:key:API_KEY', /the secret name "My_Secret" is not valid/],
      ['secret:s:key:1ENV', /the environment variable "1ENV" is not valid/],
      ['image:Python:3.12', /the image "Python:3.12" is not valid: the repository path/],
      ['image:registry..example/x:1', /the image .* is not valid: the registry host/],
      ['image:python:3.12 slim', /the image .* is not valid: an image reference has no spaces/],
      ['image:python@sha256:xyz', /the digest after "@" is malformed/],
      ['label:app:bad value', /the label value "bad value" is not valid/],
      [`label:app:${'x'.repeat(64)}`, /the label value .* is not valid/],
      ['label:Bad_Prefix.io/app:x', /the label key .* is not valid: the prefix before "\/"/],
      [`annotation:${'k'.repeat(64)}:x`, /the annotation key .* is not valid/],
      ['limit:memory:2 Gi', /the quantity "2 Gi" is not valid/],
      ['limit:memory:lots', /the quantity "lots" is not valid/],
      ['limit:bad resource:1', /the resource name "bad resource" is not valid/],
    ];
    for (const [tag, pattern] of cases) {
      const { result, errors } = tags(['step:s', tag]);
      assert.equal(errors.length, 1, `${tag}: ${JSON.stringify(errors)}`);
      assert.equal(errors[0]?.cell, 4);
      assert.match(errors[0]?.message ?? '', pattern, tag);
      assert.ok(errors[0]?.message.includes(`tag "${tag}"`), 'names the tag');
      const o = result.options;
      assert.equal(o.image, undefined, tag);
      assert.deepEqual([o.secrets, o.labels, o.annotations, o.limits], [[], {}, {}, {}], tag);
    }
  });

  it('good tag values pass', () => {
    const { result, errors } = tags([
      'step:s', 'secret:db-creds:pass.word_1:DB_PASS', 'image:registry.local:5000/team/img:1.2', 'image:[::1]:5000/x@sha256:' + 'a'.repeat(64),
      'label:app.kubernetes.io/name:my_app-1.0', 'label:empty:', 'annotation:note:any text: even colons', 'limit:cpu:500m', 'limit:memory:1.5Gi', 'limit:gpu:1',
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(result.options.secrets, [{ secret: 'db-creds', key: 'pass.word_1', env: 'DB_PASS' }]);
    assert.equal(result.options.labels['empty'], '');
    assert.equal(result.options.annotations['note'], 'any text: even colons');
    assert.equal(result.options.limits['nvidia.com/gpu'], '1');
  });

  it('a bad notebook setting is an error naming the setting, and is not kept', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ flowbook: { namespace: 'My_Team' } }, /notebook setting flowbook\.namespace is "My_Team": a namespace is at most 63/],
      [{ flowbook: { namespace: 'a'.repeat(64) } }, /flowbook\.namespace/],
      [{ flowbook: { volumeSize: '5 GB' } }, /flowbook\.volumeSize is "5 GB": a volume size is a number with a unit/],
      [{ flowbook: { volumeSize: '0Gi' } }, /flowbook\.volumeSize is "0Gi": a volume size must be more than zero/],
      [{ flowbook: { storageClass: 'Fast SSD' } }, /flowbook\.storageClass is "Fast SSD": a Kubernetes object name/],
      [{ flowbook: { image: 'my image' } }, /flowbook\.image is "my image"/],
      [{ kubeflow_notebook: { base_image: 'UPPER/case:1' } }, /kubeflow_notebook\.base_image is "UPPER\/case:1"/],
      [{ kubeflow_notebook: { volumes: [{ name: 'data', mount_point: '/data', size: 5, size_type: 'G B' }] } }, /kubeflow_notebook\.volumes\[0\]\.size is "5G B"/],
      [{ kubeflow_notebook: { volumes: [{ name: 'Data Vol', mount_point: '/data' }] } }, /kubeflow_notebook\.volumes\[0\]\.name is "Data Vol"/],
      [{ kubeflow_notebook: { volumes: [{ name: 'data', mount_point: 'data' }] } }, /kubeflow_notebook\.volumes\[0\]\.mount_point is "data": a mount point is an absolute path/],
      [{ kubeflow_notebook: { volumes: [{ name: 'data', mount_point: '/d', storage_class_name: 'A B' }] } }, /volumes\[0\]\.storage_class_name is "A B"/],
      [{ kubeflow_notebook: { volumes: [{ name: 'data', mount_point: '/d', access_modes: ['rwx'] }] } }, /volumes\[0\]\.access_modes has "rwx": an access mode is one of ReadWriteOnce/],
    ];
    for (const [metadata, pattern] of cases) {
      const { result, errors } = settings(metadata);
      assert.equal(errors.length, 1, `${JSON.stringify(metadata)}: ${JSON.stringify(errors)}`);
      assert.match(errors[0]?.message ?? '', pattern);
      assert.equal(result.namespace ?? result.volumeSize ?? result.storageClass ?? result.image, undefined);
      for (const v of result.volumes) assert.ok(v.size === undefined && v.storageClass === undefined && v.accessModes === undefined, JSON.stringify(v));
    }
  });

  it('good settings pass', () => {
    const { result, errors } = settings({
      flowbook: { namespace: 'team-a', volumeSize: '10Gi', storageClass: 'fast.ssd', image: 'python:3.12-slim' },
      kubeflow_notebook: { volumes: [{ name: 'data', mount_point: '/data', size: 5, size_type: 'Gi', access_modes: 'ReadWriteMany', storage_class_name: 'standard' }] },
    });
    assert.deepEqual(errors, []);
    assert.equal(result.namespace, 'team-a');
    assert.deepEqual(result.volumes[0], { name: 'data', mountPoint: '/data', type: 'pvc', size: '5Gi', storageClass: 'standard', accessModes: ['ReadWriteMany'] });
  });

  it('quantities follow Kubernetes: units, exponents, no spaces', () => {
    for (const ok of ['1', '0.5', '.5', '500m', '2Gi', '1e3', '1E-3', '128974848', '129M', '123Mi']) assert.equal(valid.quantity(ok), undefined, ok);
    for (const bad of ['', '1 Gi', 'Gi', '1GB', '1gi', '1.2.3', '0x10']) assert.notEqual(valid.quantity(bad), undefined, bad);
  });
});
