"""Checks compiled Kubeflow Pipelines files with KFP's own protos and SDK (run in .venv-kfp).

For each file: the first YAML document parses strictly (unknown fields rejected, as KFP's
upload does) into PipelineSpec, its deploymentSpec into PipelineDeploymentConfig (the
PipelineSpec field is a Struct, so the first parse alone would not see its fields); the
optional second document into PlatformSpec and each of its executors into
KubernetesExecutorConfig. Then what KFP only finds at run time: the task graph resolves
(components, executors, producer tasks, declared inputs and outputs, pipeline parameters,
data edges that are also dependencies, no cycle). Last, KFP's SDK loads the file as a
component. Flowbook's own rule: every task states `cachingOptions.enableCache` (left out
with --upstream). Prints one JSON object per file: {"file", "problems": [...]}; exit code 0.
"""

import json
import re
import sys

import yaml
from google.protobuf import json_format
from kfp import components as kfp_components
from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s_pb2
from kfp.pipeline_spec import pipeline_spec_pb2 as pb2

NAME = re.compile(r'^[a-z0-9]([-a-z0-9]{0,126}[a-z0-9])?$')


def strict(message, value, where, problems):
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        problems.append('%s: %s' % (where, error))


def check_graph(spec, problems, ours):
    components = spec.get('components', {})
    executors = spec.get('deploymentSpec', {}).get('executors', {})
    root = spec.get('root', {})
    tasks = root.get('dag', {}).get('tasks', {})
    pipeline_parameters = root.get('inputDefinitions', {}).get('parameters', {})
    if not tasks:
        problems.append('root.dag has no tasks')
    for name, task in tasks.items():
        where = 'task %s' % name
        ref = task.get('componentRef', {}).get('name')
        component = components.get(ref)
        if component is None:
            problems.append('%s: componentRef %r is not a component' % (where, ref))
            continue
        if 'dag' in component:
            continue  # a sub-DAG (KFP's loops and conditions): Flowbook writes none
        if component.get('executorLabel') not in executors:
            problems.append('%s: executor %r of %s does not exist' % (where, component.get('executorLabel'), ref))
        if ours and 'enableCache' not in task.get('cachingOptions', {}):
            problems.append('%s: cachingOptions.enableCache is not stated' % where)
        dependencies = task.get('dependentTasks', [])
        for d in dependencies:
            if d not in tasks:
                problems.append('%s: dependentTasks names %r, which is not a task' % (where, d))
        declared = component.get('inputDefinitions', {})
        given = task.get('inputs', {})
        for key, source in given.get('artifacts', {}).items():
            producer = source.get('taskOutputArtifact', {}).get('producerTask')
            output = source.get('taskOutputArtifact', {}).get('outputArtifactKey')
            if key not in declared.get('artifacts', {}):
                problems.append('%s: input artifact %r is not declared by %s' % (where, key, ref))
            if producer not in tasks:
                problems.append('%s: input artifact %r comes from %r, which is not a task' % (where, key, producer))
                continue
            if producer not in dependencies:
                problems.append('%s: reads an artifact of %r without depending on it' % (where, producer))
            producer_component = components.get(tasks[producer].get('componentRef', {}).get('name'), {})
            if output not in producer_component.get('outputDefinitions', {}).get('artifacts', {}):
                problems.append('%s: %r has no output artifact %r' % (where, producer, output))
        for key, source in given.get('parameters', {}).items():
            if key not in declared.get('parameters', {}):
                problems.append('%s: input parameter %r is not declared by %s' % (where, key, ref))
            wanted = source.get('componentInputParameter')
            if wanted is not None and wanted not in pipeline_parameters:
                problems.append('%s: parameter %r reads pipeline parameter %r, which root does not define' % (where, key, wanted))
        for kind in ('artifacts', 'parameters'):
            for key in declared.get(kind, {}):
                if key not in given.get(kind, {}):
                    problems.append('%s: declared input %s %r is not given' % (where, kind[:-1], key))
    for key, output in root.get('dag', {}).get('outputs', {}).get('artifacts', {}).items():
        for selector in output.get('artifactSelectors', []):
            producer = selector.get('producerSubtask')
            if producer not in tasks:
                problems.append('pipeline output %r selects task %r, which does not exist' % (key, producer))
    # No cycle: repeatedly take the tasks whose dependencies are all taken.
    done, left = set(), dict((n, set(t.get('dependentTasks', []))) for n, t in tasks.items())
    while left:
        ready = [n for n, deps in left.items() if deps <= done]
        if not ready:
            problems.append('the tasks %s form a cycle' % sorted(left))
            break
        for n in ready:
            done.add(n)
            del left[n]


def check_file(path, ours):
    problems = []
    with open(path, encoding='utf-8') as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    if not documents or len(documents) > 2:
        return ['expected one or two YAML documents, found %d' % len(documents)]
    spec = documents[0]
    strict(pb2.PipelineSpec(), spec, 'PipelineSpec', problems)
    strict(pb2.PipelineDeploymentConfig(), spec.get('deploymentSpec', {}), 'deploymentSpec', problems)
    if spec.get('schemaVersion') != '2.1.0':
        problems.append('schemaVersion is %r, not 2.1.0' % spec.get('schemaVersion'))
    if not NAME.match(spec.get('pipelineInfo', {}).get('name', '')):
        problems.append('pipelineInfo.name %r is not a DNS-1123 name' % spec.get('pipelineInfo', {}).get('name'))
    check_graph(spec, problems, ours)
    if len(documents) == 2:
        platform = documents[1]
        strict(pb2.PlatformSpec(), platform, 'PlatformSpec', problems)
        executors = platform.get('platforms', {}).get('kubernetes', {}).get('deploymentSpec', {}).get('executors', {})
        for name, config in executors.items():
            strict(k8s_pb2.KubernetesExecutorConfig(), config, 'platform executor %s' % name, problems)
            if name not in spec.get('deploymentSpec', {}).get('executors', {}):
                problems.append('platform executor %s is not an executor of the pipeline' % name)
    if not problems:
        try:
            kfp_components.load_component_from_file(path)
        except Exception as error:  # the SDK raises many kinds; any is a problem here
            problems.append('the KFP SDK cannot load it: %s: %s' % (type(error).__name__, error))
    return problems


def main():
    # --upstream: files KFP's SDK wrote, which leave `enableCache` out where it is false.
    ours = '--upstream' not in sys.argv[1:]
    for path in [a for a in sys.argv[1:] if a != '--upstream']:
        print(json.dumps({'file': path, 'problems': check_file(path, ours)}))


if __name__ == '__main__':
    main()
