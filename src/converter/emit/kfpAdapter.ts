// The thin adapter between Kubeflow Pipelines' launcher and a Flowbook step script. KFP
// runs each executor's `command` after substituting its placeholders: the adapter receives
// the whole ExecutorInput (`{{$}}`), maps artifact URIs to the local paths where the launcher
// downloads inputs and collects outputs, hands them to the step runtime through the
// variables of the runtime contract, runs the step script, then writes the ExecutorOutput
// (`output_metadata.json`) with the step's metrics as the Metrics artifact's metadata.
//
// The runtime contract (shared with the local and Argo targets):
//   FLOWBOOK_INPUT_DIR_<X>  producer X's saved values (X: its template name, upper case, `-`→`_`)
//   FLOWBOOK_OUTPUT_DIR     where the step saves its own values
//   FLOWBOOK_METRICS_PATH   `{"metrics": [{"name", "numberValue", "format"}]}`
//   FLOWBOOK_PARAM_<NAME>   pipeline parameter NAME as JSON
//
// KFP replaces `{{$...}}` in every command element, so this source holds no `{{` (nor does
// a step script: script.ts escapes it in user code).

/** Executor arguments: `--executor-input {{$}} --task T [--integers a,b] --script SOURCE`. */
export const KFP_ADAPTER_SOURCE = `# Flowbook's adapter for the Kubeflow Pipelines launcher: ExecutorInput in, ExecutorOutput out.
import argparse, json, os, subprocess, sys, tempfile

# Where the launcher puts an artifact of each storage scheme (KFP's getLocalPath).
SCHEMES = (('gs://', '/gcs/'), ('s3://', '/s3/'), ('minio://', '/minio/'))


def local_path(uri):
    for scheme, root in SCHEMES:
        if uri.startswith(scheme):
            return root + uri[len(scheme):]
    if uri.startswith('/'):
        return uri
    sys.exit('flowbook: artifact URI %r has a storage scheme the Kubeflow Pipelines launcher does not mount' % uri)


def artifact(io, key):
    entry = io.get('artifacts', {}).get(key)
    found = entry.get('artifacts', []) if entry else []
    return found[0] if found else None


def env_name(template):
    return template.upper().replace('-', '_')


def main():
    parser = argparse.ArgumentParser(prog='flowbook-kfp-adapter')
    parser.add_argument('--executor-input', required=True)
    parser.add_argument('--task', required=True)
    parser.add_argument('--integers', default='')
    parser.add_argument('--script', required=True)
    args = parser.parse_args()
    executor = json.loads(args.executor_input)
    inputs, outputs = executor.get('inputs', {}), executor.get('outputs', {})
    integers = set(name for name in args.integers.split(',') if name)
    env = dict(os.environ)

    for name, value in sorted(inputs.get('parameterValues', {}).items()):
        # Protobuf JSON has one number type: an integer parameter may arrive as 3.0.
        if name in integers and isinstance(value, float) and value.is_integer():
            value = int(value)
        env['FLOWBOOK_PARAM_' + name] = json.dumps(value)
    for key in sorted(inputs.get('artifacts', {})):
        found = artifact(inputs, key)
        if found is not None:
            env['FLOWBOOK_INPUT_DIR_' + env_name(key)] = local_path(found['uri'])
    data = artifact(outputs, 'data')
    if data is not None:
        path = local_path(data['uri'])
        os.makedirs(path, exist_ok=True)
        env['FLOWBOOK_OUTPUT_DIR'] = path
    metrics = artifact(outputs, 'metrics')
    if metrics is not None:
        path = local_path(metrics['uri'])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        env['FLOWBOOK_METRICS_PATH'] = path

    script = os.path.join(tempfile.mkdtemp(prefix='flowbook-'), args.task + '.py')
    with open(script, 'w', encoding='utf-8') as f:
        f.write(args.script)
    code = subprocess.call([sys.executable, script], env=env)
    if code != 0:
        sys.exit(code)

    result = {}
    if metrics is not None:
        values = {}
        if os.path.exists(env['FLOWBOOK_METRICS_PATH']):
            with open(env['FLOWBOOK_METRICS_PATH'], encoding='utf-8') as f:
                values = dict((m['name'], m['numberValue']) for m in json.load(f).get('metrics', []))
        entry = {'name': metrics.get('name') or 'metrics', 'uri': metrics['uri'], 'metadata': values}
        result['artifacts'] = {'metrics': {'artifacts': [entry]}}
    output_file = outputs.get('outputFile')
    if result and output_file:
        os.makedirs(os.path.dirname(output_file), exist_ok=True)
        with open(output_file, 'w', encoding='utf-8') as f:
            json.dump(result, f, sort_keys=True)


if __name__ == '__main__':
    main()
`;
