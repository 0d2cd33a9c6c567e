// The local runner's public face: start a run of a compiled Workflow, watch its events,
// cancel it; read the run records it leaves in `.flowbook/runs/<run id>/run.json`.
// Plain data in, plain data and events out: the CLI and the VS Code extension drive it.

export { startRun, RunOptionsError, fileProblem } from './executor';
export type { RunOptions, RunHandle, RunEvent } from './executor';
export { listRuns, readRun, defaultRunsDir, runnerAlive, settleInterrupted, RUN_FILE } from './record';
export type { RunRecord, StepRecord, StepStatus, RunStatus, RunMode, StepError, OutputFile } from './record';
export { pruneRuns } from './retention';
export type { PruneOptions, PruneResult } from './retention';
export type { ReadStamp } from './reads';
export { parseParameterArgs, parseValue, parseLiteral, encodeParameter } from './parameters';
export type { ParameterProblem, ParsedParameters } from './parameters';
export { probePython, probeEnvironment, installHint, installCommand, missingModulesMessage, RUNTIME_MODULES, PythonNotFoundError } from './python';
export type { PythonInfo, PythonEnvironment, MissingModules } from './python';
export { planWorkflow, WorkflowError } from './workflow';
export type { WorkflowLike, StepPlan } from './workflow';
export { parseTraceback } from './traceback';
export { PRELOAD_PACKAGES } from './forkServer';
export type { PythonFailure, ScriptLocation } from './traceback';
export { formatDuration, formatMetric, stepLine, summaryLines, runSummaryJson, STATUS_SYMBOL } from './format';
export type { RunSummaryJson } from './format';
