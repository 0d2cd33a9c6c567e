import * as assert from 'node:assert/strict';
import { parseCellTags, templateNameOf, mergeOptions, emptyOptions } from '../../../src/converter/tags';
import type { Diagnostic } from '../../../src/converter/diagnostics';

function parse(tags: string[]) {
  const diagnostics: Diagnostic[] = [];
  const result = parseCellTags(tags, 3, diagnostics);
  return { result, diagnostics };
}

describe('parseCellTags', () => {
  it('reads every role tag, legacy parameters included', () => {
    const roles = ['imports', 'functions', 'pipeline-parameters', 'parameters', 'pipeline-metrics', 'skip'].map((t) => parse([t]).result.role);
    assert.deepEqual(roles, ['imports', 'functions', 'parameters', 'parameters', 'metrics', 'skip']);
  });

  it('treats step: and block: as aliases; an empty one continues the previous step', () => {
    assert.equal(parse(['step:Load-Data_2']).result.stepName, 'Load-Data_2');
    assert.equal(parse(['block:train']).result.stepName, 'train');
    const empty = parse(['block:']).result;
    assert.equal(empty.role, 'step');
    assert.equal(empty.stepName, undefined);
  });

  it('reads repeatable prev: and the legacy prev:a:b form', () => {
    assert.deepEqual(parse(['step:c', 'prev:a', 'prev:b:d', 'prev:a']).result.prev, ['a', 'b', 'd']);
  });

  it('keeps dots and slashes in limit keys and colons in images', () => {
    const { result, diagnostics } = parse(['step:s', 'limit:nvidia.com/gpu:1', 'limit:memory:2Gi', 'limit:cpu:500m', 'image:registry.local:5000/team/img:1.2']);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(result.options.limits, { 'nvidia.com/gpu': '1', memory: '2Gi', cpu: '500m' });
    assert.equal(result.options.image, 'registry.local:5000/team/img:1.2');
  });

  it('reads annotations, labels, cache, secrets, retry and timeout', () => {
    const { result, diagnostics } = parse([
      'annotation:sidecar.istio.io/inject:false', 'annotation:note:a:b', 'label:team:ml', 'cache:disabled',
      'secret:creds:token:API_TOKEN', 'retry:3', 'timeout:1h30m',
    ]);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(result.options.annotations, { 'sidecar.istio.io/inject': 'false', note: 'a:b' });
    assert.deepEqual(result.options.labels, { team: 'ml' });
    assert.equal(result.options.cache, false);
    assert.deepEqual(result.options.secrets, [{ secret: 'creds', key: 'token', env: 'API_TOKEN' }]);
    assert.equal(result.options.retry, 3);
    assert.equal(result.options.timeoutSeconds, 5400);
  });

  it('ignores tags of other tools with an info diagnostic', () => {
    const { result, diagnostics } = parse(['hide-input', 'remove-cell', 'parameters']);
    assert.deepEqual(result.foreign, ['hide-input', 'remove-cell']);
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.code]), [['info', 'FB100'], ['info', 'FB100']]);
    assert.match(diagnostics[0]?.message ?? '', /^tag "hide-input" is not a Flowbook tag/);
  });

  it('turns a misspelt Flowbook tag into an error with a suggestion', () => {
    const { diagnostics } = parse(['stpe:load', 'import', 'pipeline-metric']);
    assert.deepEqual(diagnostics.map((d) => d.code), ['FB101', 'FB101', 'FB101']);
    assert.match(diagnostics[0]?.message ?? '', /did you mean "step:load"/);
    assert.match(diagnostics[1]?.message ?? '', /did you mean "imports"/);
  });

  it('reports malformed option tags naming the tag and the expected form', () => {
    const { diagnostics } = parse(['limit:memory', 'limit:cpu:lots', 'retry:x', 'timeout:soon', 'cache:maybe', 'secret:a:b', 'label:k:bad value', 'image:', 'prev:has space']);
    assert.equal(diagnostics.length, 9);
    for (const d of diagnostics) assert.equal(d.code, 'FB101');
    assert.match(diagnostics[0]?.message ?? '', /tag "limit:memory" is malformed; expected "limit:RESOURCE:QUANTITY"/);
  });

  it('rejects invalid step names and two roles in one cell', () => {
    assert.equal(parse(['step:9lives']).diagnostics[0]?.code, 'FB103');
    assert.equal(parse(['step:a b']).diagnostics[0]?.code, 'FB103');
    assert.equal(parse(['imports', 'step:x']).diagnostics[0]?.code, 'FB102');
  });
});

describe('templateNameOf', () => {
  it('maps step names to DNS-1123 labels deterministically', () => {
    assert.equal(templateNameOf('Load_Data'), 'load-data');
    assert.equal(templateNameOf('load-data'), 'load-data');
    assert.equal(templateNameOf('__private__'), 'private');
    assert.equal(templateNameOf('a'.repeat(80)).length, 63);
  });
});

describe('mergeOptions', () => {
  it('lets the step override steps_defaults', () => {
    const base = { ...emptyOptions(), limits: { cpu: '1', memory: '1Gi' }, retry: 1, secrets: [{ secret: 's', key: 'k', env: 'E' }] };
    const own = { ...emptyOptions(), limits: { cpu: '2' }, secrets: [{ secret: 's2', key: 'k2', env: 'E' }] };
    const merged = mergeOptions(base, own);
    assert.deepEqual(merged.limits, { cpu: '2', memory: '1Gi' });
    assert.equal(merged.retry, 1);
    assert.deepEqual(merged.secrets, [{ secret: 's2', key: 'k2', env: 'E' }]);
  });
});
