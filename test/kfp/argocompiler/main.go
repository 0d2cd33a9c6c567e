// Command kfp-argocompile checks a compiled Kubeflow Pipelines file the way a KFP cluster
// handles it, with KFP's own backend code used as a library (the version go.mod pins):
//   - upload and run creation, as the API server does them: the template parser (strict
//     protojson; the platform spec as a second YAML document), the run's runtime parameters
//     checked against the root's inputs, and the argocompiler that turns the IR into the
//     Argo Workflow the cluster runs;
//   - what each task's driver then parses from that Workflow before it starts the step:
//     the container spec and the Kubernetes executor config, both strictly (the driver
//     refuses unknown fields, so a field this KFP does not know fails the step at run time).
//
// Usage: kfp-argocompile [-parameters JSON] FILE
//
// Writes the Workflow as JSON on stdout. Exit code 0: KFP accepts the file and every driver
// can read its task; 1: the problems, one a line, on stderr (the Workflow is still written
// when it compiled); 2: a usage error. Flowbook's tests run it: test/kfp/argocompiler.test.ts.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"github.com/kubeflow/pipelines/backend/src/apiserver/model"
	"github.com/kubeflow/pipelines/backend/src/apiserver/template"
	"github.com/kubeflow/pipelines/kubernetes_platform/go/kubernetesplatform"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// runID stands for the id the API server gives a new run; it replaces {{workflow.uid}}.
const runID = "00000000-0000-0000-0000-000000000000"

func main() {
	parameters := flag.String("parameters", "", "runtime parameter values as a JSON object, as a run gives them (name: typed value)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-parameters JSON] FILE\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	workflow, err := compile(flag.Arg(0), *parameters)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(append(workflow, '\n'))
	if problems := driverProblems(workflow); len(problems) > 0 {
		fmt.Fprintln(os.Stderr, strings.Join(problems, "\n"))
		os.Exit(1)
	}
}

func compile(file, parameters string) ([]byte, error) {
	bytes, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	// Upload (pipeline version creation): the server parses and keeps the template.
	tmpl, err := template.New(bytes)
	if err != nil {
		return nil, fmt.Errorf("upload refused: %w", err)
	}
	if !tmpl.IsV2() {
		return nil, fmt.Errorf("upload refused: %s is not a KFP v2 pipeline spec", file)
	}
	// Run creation: the runtime config as the API stores it, then the Argo compiler.
	run := &model.Run{DisplayName: "flowbook-check"}
	run.RuntimeConfig.Parameters = parameters
	spec, err := tmpl.RunWorkflow(run, template.RunWorkflowOptions{RunId: runID})
	if err != nil {
		return nil, fmt.Errorf("run refused: %w", err)
	}
	text := spec.ToStringForStore()
	if text == "" {
		return nil, fmt.Errorf("the compiled Workflow could not be written as JSON")
	}
	return []byte(text), nil
}

// driverProblems parses, as each driver does, every container spec and Kubernetes executor
// config the Workflow hands to the drivers. Depending on the KFP version they travel as
// workflow annotations (pipelines.kubeflow.org/implementations-..., .../kubernetes-...) or
// as workflow parameters (implementations-..., kubernetes-...).
func driverProblems(workflow []byte) []string {
	var wf struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Arguments struct {
				Parameters []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"parameters"`
			} `json:"arguments"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(workflow, &wf); err != nil {
		return []string{fmt.Sprintf("the compiled Workflow is not JSON: %v", err)}
	}
	values := map[string]string{}
	for name, value := range wf.Metadata.Annotations {
		values[strings.TrimPrefix(name, "pipelines.kubeflow.org/")] = value
	}
	for _, p := range wf.Spec.Arguments.Parameters {
		values[p.Name] = p.Value
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []string
	for _, name := range names {
		var message proto.Message
		switch {
		case strings.HasPrefix(name, "implementations-"):
			message = &pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec{}
		case strings.HasPrefix(name, "kubernetes-"):
			message = &kubernetesplatform.KubernetesExecutorConfig{}
		default:
			continue
		}
		if err := protojson.Unmarshal([]byte(values[name]), message); err == nil {
			continue
		}
		// protojson names only the first unknown field: list them all, then any other error.
		if unknown := unknownFields([]byte(values[name]), message); len(unknown) > 0 {
			problems = append(problems, fmt.Sprintf("driver refuses %s: unknown fields %s", name, strings.Join(unknown, ", ")))
		} else {
			err := protojson.Unmarshal([]byte(values[name]), message)
			problems = append(problems, fmt.Sprintf("driver refuses %s: %v", name, err))
		}
	}
	return problems
}

// unknownFields lists the paths (a.b[0].c) of the fields in text that message does not
// have: what a lenient parse drops, found by writing the parsed message back with every field.
func unknownFields(text []byte, message proto.Message) []string {
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(text, message); err != nil {
		return nil
	}
	known, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(message)
	if err != nil {
		return nil
	}
	var given, kept any
	if json.Unmarshal(text, &given) != nil || json.Unmarshal(known, &kept) != nil {
		return nil
	}
	var paths []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch a := a.(type) {
		case map[string]any:
			bm, _ := b.(map[string]any)
			keys := make([]string, 0, len(a))
			for k := range a {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				at := k
				if path != "" {
					at = path + "." + k
				}
				if v, ok := bm[k]; ok {
					walk(at, a[k], v)
				} else {
					paths = append(paths, at)
				}
			}
		case []any:
			bl, _ := b.([]any)
			for i, v := range a {
				if i < len(bl) {
					walk(fmt.Sprintf("%s[%d]", path, i), v, bl[i])
				}
			}
		}
	}
	walk("", given, kept)
	return paths
}
