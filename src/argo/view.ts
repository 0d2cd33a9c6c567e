// The Argo Workflow as the local runner reads it: a read-only structural view with only the
// fields the runtime conventions (docs/architecture.md) define, lenient about their types
// (a workflow may come from a YAML file). A compiled Workflow (./compiled.ts) satisfies it.

/** The subset of an Argo parameter the runner reads; `value` is a string in emitted workflows. */
export interface WorkflowParameterLike {
  readonly name: string;
  readonly value?: unknown;
  readonly default?: unknown;
}

export interface EnvVarLike {
  readonly name: string;
  readonly value?: unknown;
  readonly valueFrom?: unknown;
}

export interface DagTaskLike {
  readonly name: string;
  readonly template?: string;
  readonly dependencies?: readonly string[];
  readonly depends?: string;
  readonly arguments?: { readonly parameters?: readonly WorkflowParameterLike[] };
}

export interface TemplateLike {
  readonly name: string;
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> };
  readonly inputs?: { readonly parameters?: readonly WorkflowParameterLike[] };
  readonly dag?: { readonly tasks: readonly DagTaskLike[] };
  readonly script?: { readonly source: string; readonly env?: readonly EnvVarLike[] };
  readonly activeDeadlineSeconds?: unknown;
  readonly retryStrategy?: { readonly limit?: unknown };
}

/** An Argo Workflow as far as the local runner is concerned. */
export interface WorkflowLike {
  readonly metadata?: { readonly name?: string; readonly generateName?: string };
  readonly spec: {
    readonly entrypoint: string;
    readonly arguments?: { readonly parameters?: readonly WorkflowParameterLike[] };
    readonly templates: readonly TemplateLike[];
  };
}
