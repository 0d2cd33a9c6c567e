// The cluster core's public face: everything the CLI and the VS Code extension use to talk
// to Kubernetes (Argo Workflows, KServe) through @kubernetes/client-node. No `vscode` here:
// models expose `Event<T>` functions (events.ts) that the extension adapts to its views.

export * from './actions';
export * from './artifacts';
export * from './client';
export * from './connection';
export * from './errors';
export * from './events';
export * from './kaniko';
export * from './kserve';
export * from './logs';
export * from './preflight';
export * from './resources';
export * from './runRecord';
export * from './runs';
export * from './runStatus';
export * from './submit';
export type * from './types';
export * from './watcher';
export * from './schedules';
export * from './dataPassing';
