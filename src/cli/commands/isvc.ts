// `flowbook isvc list|get|delete|predict|deploy`: KServe InferenceServices of a namespace,
// a timed test prediction (v1 or v2 protocol, through an ingress with a Host header), and
// deploying a model from a run's step output.

import type { Command } from 'commander';
import * as fs from 'node:fs';
import type * as Cluster from '../../cluster';
import type { CommandResult } from '../main';
import { addClusterOptions, age, cluster, ClusterFlags, collect, connect, out, reportError, say, table } from './clusterCommon';

interface IsvcFlags extends ClusterFlags {
  legacy?: boolean;
}

function groupOf(flags: IsvcFlags): string | undefined {
  return flags.legacy ? cluster().LEGACY_INFERENCE_SERVICES.group : undefined;
}

export function registerIsvc(program: Command, result: CommandResult): void {
  const isvc = program.command('isvc').description('KServe InferenceServices: list, inspect, delete, test predictions, deploy a model from a run');
  const legacy = (cmd: Command) => cmd.option('--legacy', 'the legacy serving.kubeflow.org API (older Kubeflow)');
  const run = (name: string, fn: () => Promise<number>) => async () => {
    try {
      result.code = await fn();
    } catch (err) {
      result.code = reportError(`isvc ${name}`, err);
    }
  };

  addClusterOptions(isvc.command('list').description('List the InferenceServices (both API groups)').option('--json', 'print JSON')).action((flags: IsvcFlags & { json?: boolean }) =>
    run('list', async () => {
      const c = cluster();
      const model = new c.InferenceServiceModel(connect(flags), flags.namespace ? { namespace: flags.namespace } : {});
      let notInstalled = '';
      let failed: ((err: Error) => void) | undefined;
      const failure = new Promise<never>((_, reject) => (failed = reject));
      failure.catch(() => undefined);
      model.onDidChangeState((s) => {
        if (s.kind === 'notInstalled') notInstalled = s.message;
        // The model would keep retrying; a command reports the first failure instead.
        if (s.kind === 'retrying') failed?.(s.error);
      });
      try {
        await model.start();
        if (notInstalled) {
          say(notInstalled);
          return 1;
        }
        await Promise.race([model.whenSynced(), failure]);
        const services = model.services();
        if (flags.json) out(JSON.stringify(services, null, 2));
        else if (services.length === 0) out('No InferenceServices in this namespace.');
        else {
          const rows = [['NAME', 'READY', 'URL', 'FORMAT', 'MODE', 'TRAFFIC', 'AGE', 'REASON']];
          for (const s of services) {
            rows.push([s.name, s.ready, s.url ?? '', s.predictor.modelFormat ?? '', s.deploymentMode, s.traffic.map((t) => `${t.revision} ${t.percent}%`).join(', '), age(s.createdAt), s.notReadyReason ?? s.canary?.message ?? '']);
          }
          for (const line of table(rows)) out(line);
        }
        return 0;
      } finally {
        model.dispose();
      }
    })(),
  );

  legacy(addClusterOptions(isvc.command('get').description('Print an InferenceService as YAML (or its summary as JSON)').argument('<name>').option('-o, --output <format>', 'yaml (default) or json'))).action(
    (name: string, flags: IsvcFlags & { output?: string }) =>
      run('get', async () => {
        const c = cluster();
        const obj = await c.getInferenceService(connect(flags), name, { ...(flags.namespace ? { namespace: flags.namespace } : {}), ...(groupOf(flags) ? { group: groupOf(flags) } : {}) });
        process.stdout.write(flags.output === 'json' ? `${JSON.stringify(c.summarizeInferenceService(obj), null, 2)}\n` : c.inferenceServiceYaml(obj));
        return 0;
      })(),
  );

  legacy(addClusterOptions(isvc.command('delete').description('Delete an InferenceService').argument('<name>'))).action((name: string, flags: IsvcFlags) =>
    run('delete', async () => {
      await cluster().deleteInferenceService(connect(flags), name, { ...(flags.namespace ? { namespace: flags.namespace } : {}), ...(groupOf(flags) ? { group: groupOf(flags) } : {}) });
      say(`InferenceService ${name} deleted.`);
      return 0;
    })(),
  );

  legacy(
    addClusterOptions(
      isvc
        .command('predict')
        .description('Send a test prediction and print the response with its timing')
        .argument('<name>')
        .option('-d, --data <json>', 'the request body as JSON, or @FILE (default: an example for the protocol)')
        .option('--protocol <v1|v2>', 'v1 (:predict) or v2 (/infer); default: the predictor\'s protocolVersion, else v1')
        .option('--ingress <url>', 'send to this address (an ingress gateway) with the service\'s Host header')
        .option('--host <host>', 'the Host header to send')
        .option('-H, --header <K: V>', 'an extra request header (repeat for several)', collect, [] as string[]),
    ),
  ).action((name: string, flags: IsvcFlags & { data?: string; protocol?: string; ingress?: string; host?: string; header: string[] }) =>
    run('predict', async () => {
      const c = cluster();
      const obj = await c.getInferenceService(connect(flags), name, { ...(flags.namespace ? { namespace: flags.namespace } : {}), ...(groupOf(flags) ? { group: groupOf(flags) } : {}) });
      const summary = c.summarizeInferenceService(obj);
      if (!summary.url) {
        say(`flowbook isvc predict: ${name} has no URL yet (${summary.notReadyReason ?? 'not ready'}).`);
        return 1;
      }
      const protocol: Cluster.PredictionProtocol = flags.protocol === 'v2' ? 'v2' : flags.protocol === 'v1' ? 'v1' : summary.predictor.protocolVersion === 'v2' ? 'v2' : 'v1';
      let body: unknown = c.examplePredictionBody(protocol);
      if (flags.data !== undefined) body = flags.data.startsWith('@') ? fs.readFileSync(flags.data.slice(1), 'utf8') : flags.data;
      const headers: Record<string, string> = {};
      for (const h of flags.header) {
        const i = h.indexOf(':');
        if (i <= 0) {
          say(`flowbook isvc predict: -H ${h}: expected "Name: value"`);
          return 2;
        }
        headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
      }
      const res = await c.testPrediction({ url: summary.url, model: name, protocol, body, headers, ...(flags.ingress ? { ingress: flags.ingress } : {}), ...(flags.host ? { host: flags.host } : {}) });
      say(`POST ${res.url} (Host: ${res.host}) → ${res.status} in ${res.durationMs} ms`);
      out(typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2));
      return res.ok ? 0 : 1;
    })(),
  );

  legacy(
    addClusterOptions(
      isvc
        .command('deploy')
        .description("Deploy a model from a run's step output as an InferenceService")
        .argument('<name>', 'the InferenceService name')
        .requiredOption('--run <run>', 'the run')
        .requiredOption('--step <step>', 'the step that produced the model')
        .option('--output <file>', "the model file in the step's outputs, e.g. model.joblib (volume data passing)")
        .option('--format <name>', 'model format: sklearn, xgboost, tensorflow, pytorch, onnx… (default: from the file extension)')
        .option('--storage-uri <uri>', 'where the model is, instead of the computed location')
        .option('--mode <mode>', 'deployment mode: Standard or Knative (default: the cluster\'s)')
        .option('--protocol <v1|v2>', 'inference protocol')
        .option('--service-account <name>', 'service account with the credentials for the model storage'),
    ),
  ).action((name: string, flags: IsvcFlags & { run: string; step: string; output?: string; format?: string; storageUri?: string; mode?: string; protocol?: string; serviceAccount?: string }) =>
    run('deploy', async () => {
      const c = cluster();
      const client = connect(flags);
      const wf = await client.get<Cluster.Workflow>(c.WORKFLOWS, client.namespace, flags.run);
      const options: Cluster.DeployModelOptions = { name, run: wf, step: flags.step, namespace: client.namespace };
      if (flags.output) options.output = flags.output;
      if (flags.format) options.modelFormat = flags.format;
      if (flags.storageUri) options.storageUri = flags.storageUri;
      if (flags.mode) options.deploymentMode = flags.mode;
      if (flags.protocol === 'v1' || flags.protocol === 'v2') options.protocolVersion = flags.protocol;
      if (flags.serviceAccount) options.serviceAccountName = flags.serviceAccount;
      const group = groupOf(flags);
      if (group) options.group = group;
      const res = await c.deployModelFromStep(client, options);
      for (const w of res.warnings) say(`warning: ${w}`);
      say(`InferenceService ${name} created from ${flags.run}/${flags.step} (${res.storageUri}).`);
      out(name);
      return 0;
    })(),
  );
}
