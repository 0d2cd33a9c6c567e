"""A local stand-in for Kubeflow Pipelines' driver and launcher (a test tool, not KFP itself).

Runs a compiled pipeline file task by task, in dependency order, on this machine:
- builds each task's ExecutorInput with KFP's real protos (pipeline parameters from the
  run's values or root defaults; input artifacts from the producers' recorded outputs;
  output artifacts with fresh URIs and the executor output file), as the driver does;
- substitutes the placeholders in the container's command and args with the KFP SDK's own
  substitution (kfp.local.placeholder_utils, which mirrors the driver's);
- runs that command with the container's env (plus the run's secrets for `secretAsEnv`),
  with `python3` resolving to the interpreter given by --python;
- afterwards checks what the launcher would read: every output artifact exists at the local
  path of its URI, the executor output file parses strictly as ExecutorOutput and names only
  declared artifacts with the URIs it was given, and output parameters are where KFP reads
  them. Metrics are taken from the Metrics artifacts' metadata.

Usage: launcher.py FILE --work DIR --python PYTHON [--parameters JSON] [--secrets JSON]
Prints one JSON object: {"order", "tasks": {T: {"state", "metrics", "outputs", "problems", "log"}}}.
"""

import argparse
import json
import os
import subprocess
import sys

import yaml
from google.protobuf import json_format
from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s_pb2
from kfp.local import placeholder_utils
from kfp.pipeline_spec import pipeline_spec_pb2 as pb2

SCHEMES = (('gs://', '/gcs/'), ('s3://', '/s3/'), ('minio://', '/minio/'))


def local_path(uri):
    """Where the launcher keeps an artifact of this URI (KFP's getLocalPath); local URIs stay."""
    for scheme, root in SCHEMES:
        if uri.startswith(scheme):
            return root + uri[len(scheme):]
    return uri


def topological(tasks):
    order, done, left = [], set(), dict((n, set(t.get('dependentTasks', []))) for n, t in tasks.items())
    while left:
        ready = sorted(n for n, deps in left.items() if deps <= done)
        if not ready:
            raise SystemExit('the tasks %s form a cycle' % sorted(left))
        for n in ready:
            order.append(n)
            done.add(n)
            del left[n]
    return order


def load(path):
    with open(path, encoding='utf-8') as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    spec = json_format.ParseDict(documents[0], pb2.PipelineSpec(), ignore_unknown_fields=False)
    platform = {}
    if len(documents) > 1:
        executors = documents[1]['platforms']['kubernetes']['deploymentSpec']['executors']
        for name, config in executors.items():
            platform[name] = json_format.ParseDict(config, k8s_pb2.KubernetesExecutorConfig(), ignore_unknown_fields=False)
    return documents[0], spec, platform


class Run:
    def __init__(self, raw, spec, platform, args):
        self.raw, self.spec, self.platform, self.args = raw, spec, platform, args
        self.parameters = json.loads(args.parameters)
        self.secrets = json.loads(args.secrets)
        self.outputs = {}  # task -> {key: RuntimeArtifact}
        self.root = os.path.abspath(args.work)
        self.bin = os.path.join(self.root, 'bin')
        os.makedirs(self.bin, exist_ok=True)
        link = os.path.join(self.bin, 'python3')
        if not os.path.exists(link):
            os.symlink(args.python, link)

    def parameter_value(self, name):
        if name in self.parameters:
            return True, self.parameters[name]
        definition = self.raw['root'].get('inputDefinitions', {}).get('parameters', {}).get(name, {})
        if 'defaultValue' in definition:
            return True, definition['defaultValue']
        return False, None

    def executor_input(self, task_name, task, component):
        executor_input = pb2.ExecutorInput()
        for key, source in task.get('inputs', {}).get('parameters', {}).items():
            present, value = self.parameter_value(source['componentInputParameter'])
            if present:
                json_format.ParseDict(value, executor_input.inputs.parameter_values[key])
        for key, source in task.get('inputs', {}).get('artifacts', {}).items():
            ref = source['taskOutputArtifact']
            executor_input.inputs.artifacts[key].artifacts.append(self.outputs[ref['producerTask']][ref['outputArtifactKey']])
        outputs = component.get('outputDefinitions', {})
        for key, definition in outputs.get('artifacts', {}).items():
            artifact = executor_input.outputs.artifacts[key].artifacts.add()
            artifact.name = key
            artifact.type.schema_title = definition['artifactType']['schemaTitle']
            artifact.type.schema_version = definition['artifactType']['schemaVersion']
            artifact.uri = os.path.join(self.root, 'artifacts', task_name, key)
        for key in outputs.get('parameters', {}):
            executor_input.outputs.parameters[key].output_file = os.path.join(self.root, 'outputs', task_name, 'parameters', key)
        executor_input.outputs.output_file = os.path.join(self.root, 'outputs', task_name, 'output_metadata.json')
        return executor_input

    def env(self, container, executor_label):
        env = {'PATH': self.bin + os.pathsep + os.environ.get('PATH', ''), 'HOME': self.root, 'TMPDIR': os.path.join(self.root, 'tmp')}
        os.makedirs(env['TMPDIR'], exist_ok=True)
        for e in container.get('env', []):
            env[e['name']] = e['value']
        config = self.platform.get(executor_label)
        if config is not None:
            for secret in config.secret_as_env:
                name = secret.secret_name_parameter.runtime_value.constant.string_value or secret.secret_name
                for pair in secret.key_to_env:
                    value = self.secrets.get(name, {}).get(pair.secret_key)
                    if value is None and not secret.optional:
                        raise SystemExit('secret %s has no key %s in --secrets' % (name, pair.secret_key))
                    if value is not None:
                        env[pair.env_var] = value
        return env

    def run_task(self, task_name):
        task = self.raw['root']['dag']['tasks'][task_name]
        component = self.raw['components'][task['componentRef']['name']]
        container = self.raw['deploymentSpec']['executors'][component['executorLabel']]['container']
        executor_input = self.executor_input(task_name, task, component)
        executor_input_dict = json_format.MessageToDict(executor_input)
        command = placeholder_utils.replace_placeholders(
            full_command=list(container.get('command', [])) + list(container.get('args', [])),
            executor_input_dict=executor_input_dict,
            pipeline_resource_name=self.raw['pipelineInfo']['name'],
            task_resource_name=task_name,
            pipeline_root=os.path.join(self.root, 'artifacts'),
            unique_pipeline_id='flowbook-test',
        )
        result = subprocess.run(command, env=self.env(container, component['executorLabel']), capture_output=True, text=True)
        report = {'state': 'SUCCEEDED' if result.returncode == 0 else 'FAILED', 'exitCode': result.returncode,
                  'log': (result.stdout + result.stderr)[-4000:], 'metrics': {}, 'outputs': {}, 'problems': []}
        if result.returncode != 0:
            return report
        self.collect(task_name, executor_input, report)
        return report

    def collect(self, task_name, executor_input, report):
        problems = report['problems']
        produced = {}
        for key, artifacts in executor_input.outputs.artifacts.items():
            artifact = artifacts.artifacts[0]
            path = local_path(artifact.uri)
            if not os.path.exists(path):
                problems.append('output artifact %r: nothing at %s for the launcher to upload' % (key, path))
            files = sorted(os.listdir(path)) if os.path.isdir(path) else []
            report['outputs'][key] = {'uri': artifact.uri, 'files': files}
            produced[key] = artifact
        output_file = executor_input.outputs.output_file
        if os.path.exists(output_file):
            with open(output_file, encoding='utf-8') as f:
                try:
                    output = json_format.Parse(f.read(), pb2.ExecutorOutput(), ignore_unknown_fields=False)
                except json_format.ParseError as error:
                    problems.append('executor output: %s' % error)
                    output = pb2.ExecutorOutput()
            for key, artifacts in output.artifacts.items():
                if key not in produced:
                    problems.append('executor output names artifact %r, which the component does not declare' % key)
                    continue
                for artifact in artifacts.artifacts:
                    if artifact.uri != produced[key].uri:
                        problems.append('executor output artifact %r has URI %r, not %r' % (key, artifact.uri, produced[key].uri))
                    produced[key].metadata.MergeFrom(artifact.metadata)
                    if produced[key].type.schema_title == 'system.Metrics':
                        report['metrics'].update(json_format.MessageToDict(artifact.metadata))
            for key, value in output.parameter_values.items():
                report.setdefault('parameters', {})[key] = json_format.MessageToDict(value)
        for key, parameter in executor_input.outputs.parameters.items():
            if key in report.get('parameters', {}):
                continue
            if not os.path.exists(parameter.output_file):
                problems.append('output parameter %r: neither in the executor output nor at %s' % (key, parameter.output_file))
        for key, artifacts in executor_input.outputs.artifacts.items():
            if artifacts.artifacts[0].type.schema_title == 'system.Metrics' and not report['metrics']:
                problems.append('the Metrics artifact %r has no metadata in the executor output' % key)
        self.outputs[task_name] = produced


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('file')
    parser.add_argument('--work', required=True)
    parser.add_argument('--python', required=True)
    parser.add_argument('--parameters', default='{}')
    parser.add_argument('--secrets', default='{}')
    args = parser.parse_args()
    raw, spec, platform = load(args.file)
    run = Run(raw, spec, platform, args)
    order = topological(raw['root']['dag']['tasks'])
    report = {'order': order, 'tasks': {}}
    for name in order:
        deps = raw['root']['dag']['tasks'][name].get('dependentTasks', [])
        if any(report['tasks'].get(d, {}).get('state') != 'SUCCEEDED' for d in deps):
            report['tasks'][name] = {'state': 'SKIPPED'}
            continue
        report['tasks'][name] = run.run_task(name)
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == '__main__':
    main()
