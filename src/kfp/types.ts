// The KFP v2beta1 REST objects Flowbook reads and writes: the subset of fields it uses,
// named as on the wire (proto field names, snake_case), from KFP's published swagger.

export type RuntimeState = 'RUNTIME_STATE_UNSPECIFIED' | 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'SKIPPED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'PAUSED';

export interface RpcStatus {
  code?: number;
  message?: string;
}

export interface Pipeline {
  pipeline_id: string;
  name?: string;
  display_name?: string;
  description?: string;
  created_at?: string;
  namespace?: string;
}

export interface PipelineVersion {
  pipeline_id: string;
  pipeline_version_id: string;
  name?: string;
  display_name?: string;
  description?: string;
  created_at?: string;
  code_source_url?: string;
  tags?: Record<string, string>;
}

export interface Experiment {
  experiment_id: string;
  display_name: string;
  description?: string;
  namespace?: string;
  created_at?: string;
  storage_state?: 'STORAGE_STATE_UNSPECIFIED' | 'AVAILABLE' | 'ARCHIVED';
}

export interface PipelineVersionReference {
  pipeline_id: string;
  pipeline_version_id?: string;
}

/** Runtime parameter values, typed as the pipeline's `root.inputDefinitions` declares. */
export type ParameterValue = string | number | boolean | null | ParameterValue[] | { [key: string]: ParameterValue };

export interface RuntimeConfig {
  parameters?: Record<string, ParameterValue>;
  pipeline_root?: string;
}

export interface TaskDetail {
  task_id?: string;
  display_name?: string;
  state?: RuntimeState;
  pod_name?: string;
  create_time?: string;
  start_time?: string;
  end_time?: string;
  error?: RpcStatus;
  parent_task_id?: string;
  /** The task's execution in ML Metadata (an int64, so a string on the wire). */
  execution_id?: string;
  /** Output artifact name → the ids of its artifacts in ML Metadata (int64s, strings on the wire). */
  outputs?: Record<string, ArtifactList>;
  inputs?: Record<string, ArtifactList>;
}

export interface ArtifactList {
  artifact_ids?: string[];
}

export interface RuntimeStatus {
  update_time?: string;
  state?: RuntimeState;
  error?: RpcStatus;
}

export interface Run {
  run_id: string;
  display_name: string;
  experiment_id?: string;
  description?: string;
  pipeline_version_reference?: PipelineVersionReference;
  runtime_config?: RuntimeConfig;
  service_account?: string;
  created_at?: string;
  scheduled_at?: string;
  finished_at?: string;
  state?: RuntimeState;
  error?: RpcStatus;
  state_history?: RuntimeStatus[];
  run_details?: { task_details?: TaskDetail[] };
  recurring_run_id?: string;
  storage_state?: 'STORAGE_STATE_UNSPECIFIED' | 'AVAILABLE' | 'ARCHIVED';
}

export interface Trigger {
  cron_schedule?: { cron: string; start_time?: string; end_time?: string };
  periodic_schedule?: { interval_second: string; start_time?: string; end_time?: string };
}

export interface RecurringRun {
  recurring_run_id: string;
  display_name: string;
  description?: string;
  experiment_id?: string;
  namespace?: string;
  pipeline_version_reference?: PipelineVersionReference;
  runtime_config?: RuntimeConfig;
  service_account?: string;
  trigger?: Trigger;
  /** An int64, so a string on the wire. */
  max_concurrency?: string;
  no_catchup?: boolean;
  mode?: 'MODE_UNSPECIFIED' | 'ENABLE' | 'DISABLE';
  status?: 'STATUS_UNSPECIFIED' | 'ENABLED' | 'DISABLED';
  created_at?: string;
  updated_at?: string;
}

/** One condition of a list filter (`v2beta1Predicate`). */
export interface Predicate {
  key: string;
  operation: 'EQUALS' | 'NOT_EQUALS' | 'GREATER_THAN' | 'GREATER_THAN_EQUALS' | 'LESS_THAN' | 'LESS_THAN_EQUALS' | 'IN' | 'IS_SUBSTRING';
  string_value?: string;
}
