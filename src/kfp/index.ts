// The Kubeflow Pipelines core's public face: endpoint and auth, the v2beta1 REST client,
// submitting a compiled pipeline once, schedules. No `vscode` here, and no Kubernetes
// client unless a token is requested through the kubeconfig (`kubeToken.ts`, loaded lazily).

export * from './client';
export * from '../common/cron';
export * from './endpoint';
export * from './errors';
export * from './gitSource';
export * from './submit';
export type * from './types';
export * from './runsModel';
export * from './runView';
export * from './mlmd';
export * from './portForward';
