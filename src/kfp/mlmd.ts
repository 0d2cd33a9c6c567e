// The metrics of a Kubeflow Pipelines run, read from ML Metadata (MLMD). The v2beta1 run
// object carries none: a step's `system.Metrics` artifact keeps its values as custom
// properties of the artifact in MLMD, and each task's `outputs` in `run_details` names the
// artifact ids. The KFP UI reads them through gRPC-web (`GetArtifactsByID`) on its own
// address; this module encodes that request and decodes the answer with protobufjs, over
// the few messages it needs (field numbers from MLMD's `metadata_store.proto` and
// `metadata_store_service.proto`, both proto2). No `vscode`, no network here.

import * as protobuf from 'protobufjs/light';
import { userTasks } from './runView';
import type { Run, TaskDetail } from './types';

/** The gRPC-web method path, served by the KFP UI's proxy (and Kubeflow's `/ml_metadata` route). */
export const GET_ARTIFACTS_BY_ID = '/ml_metadata.MetadataStoreService/GetArtifactsByID';
export const GRPC_WEB_CONTENT_TYPE = 'application/grpc-web+proto';

// The subset of MLMD's protos Flowbook reads; unknown fields (struct and proto values, the
// artifact's state, types, system metadata) are skipped when decoding.
const MLMD_SUBSET = {
  nested: {
    ml_metadata: {
      nested: {
        Value: {
          oneofs: { value: { oneof: ['int_value', 'double_value', 'string_value', 'bool_value'] } },
          fields: {
            int_value: { type: 'int64', id: 1 },
            double_value: { type: 'double', id: 2 },
            string_value: { type: 'string', id: 3 },
            bool_value: { type: 'bool', id: 6 },
          },
        },
        Artifact: {
          fields: {
            id: { type: 'int64', id: 1 },
            type_id: { type: 'int64', id: 2 },
            uri: { type: 'string', id: 3 },
            properties: { keyType: 'string', type: 'Value', id: 4 },
            custom_properties: { keyType: 'string', type: 'Value', id: 5 },
            name: { type: 'string', id: 7 },
            type: { type: 'string', id: 8 },
          },
        },
        GetArtifactsByIDRequest: {
          fields: {
            // proto2: repeated scalars are not packed unless the proto says so.
            artifact_ids: { rule: 'repeated', type: 'int64', id: 1, options: { packed: false } },
          },
        },
        GetArtifactsByIDResponse: {
          fields: {
            artifacts: { rule: 'repeated', type: 'Artifact', id: 1 },
          },
        },
      },
    },
  },
};
const root = protobuf.Root.fromJSON(MLMD_SUBSET);

const RequestType = root.lookupType('ml_metadata.GetArtifactsByIDRequest');
const ResponseType = root.lookupType('ml_metadata.GetArtifactsByIDResponse');
const ArtifactType = root.lookupType('ml_metadata.Artifact');

export type MlmdValue = number | string | boolean;

/** An MLMD artifact as Flowbook reads it. Ids are int64: kept as decimal strings. */
export interface MlmdArtifact {
  id: string;
  name?: string;
  type?: string;
  uri?: string;
  customProperties: Record<string, MlmdValue>;
}

/** The protobuf bytes of `GetArtifactsByIDRequest { artifact_ids }`. */
export function encodeArtifactsRequest(ids: readonly string[]): Uint8Array {
  const message = RequestType.fromObject({ artifact_ids: [...ids] });
  return RequestType.encode(message).finish();
}

/** The artifacts of a `GetArtifactsByIDResponse`. */
export function decodeArtifactsResponse(bytes: Uint8Array): MlmdArtifact[] {
  const decoded = ResponseType.toObject(ResponseType.decode(bytes), { longs: String, defaults: false, oneofs: false }) as { artifacts?: RawArtifact[] };
  return (decoded.artifacts ?? []).map(artifactOf);
}

/** The bytes of a `GetArtifactsByIDResponse` (the simulated KFP server answers with it). */
export function encodeArtifactsResponse(artifacts: readonly MlmdArtifact[]): Uint8Array {
  const raw = artifacts.map((a) => ArtifactType.fromObject({
    id: a.id,
    ...(a.name !== undefined ? { name: a.name } : {}),
    ...(a.type !== undefined ? { type: a.type } : {}),
    ...(a.uri !== undefined ? { uri: a.uri } : {}),
    custom_properties: Object.fromEntries(Object.entries(a.customProperties).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => [k, valueOf(v)])),
  }));
  return ResponseType.encode(ResponseType.fromObject({ artifacts: raw })).finish();
}

/** The ids of the artifacts a run's request names, from the request bytes (for the simulated server). */
export function decodeArtifactsRequest(bytes: Uint8Array): string[] {
  const decoded = RequestType.toObject(RequestType.decode(bytes), { longs: String }) as { artifact_ids?: string[] };
  return decoded.artifact_ids ?? [];
}

interface RawValue {
  int_value?: string;
  double_value?: number;
  string_value?: string;
  bool_value?: boolean;
}

interface RawArtifact {
  id?: string;
  name?: string;
  type?: string;
  uri?: string;
  custom_properties?: Record<string, RawValue>;
}

function artifactOf(raw: RawArtifact): MlmdArtifact {
  const customProperties: Record<string, MlmdValue> = {};
  for (const [k, v] of Object.entries(raw.custom_properties ?? {})) {
    const value = v.double_value ?? (v.int_value !== undefined ? Number(v.int_value) : undefined) ?? v.string_value ?? v.bool_value;
    if (value !== undefined) customProperties[k] = value;
  }
  const a: MlmdArtifact = { id: raw.id ?? '', customProperties };
  if (raw.name) a.name = raw.name;
  if (raw.type) a.type = raw.type;
  if (raw.uri) a.uri = raw.uri;
  return a;
}

function valueOf(v: MlmdValue): RawValue {
  if (typeof v === 'number') return { double_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  return { string_value: v };
}

// gRPC-web framing: each frame is a flag byte (0x00 data, 0x80 trailers), a 4-byte
// big-endian length, then the payload. Trailers are `name: value` lines.

/** One data frame holding `message`. */
export function grpcWebFrame(message: Uint8Array, trailers = false): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(trailers ? 0x80 : 0x00, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, Buffer.from(message)]);
}

/** The trailers frame carrying a gRPC status. */
export function grpcWebTrailers(status: number, message?: string): Buffer {
  const text = `grpc-status:${status}\r\n${message ? `grpc-message:${encodeURIComponent(message)}\r\n` : ''}`;
  return grpcWebFrame(Buffer.from(text, 'utf8'), true);
}

export interface GrpcWebAnswer {
  /** The first data frame, when there is one. */
  message?: Uint8Array;
  /** `grpc-status` (0 = OK), from the trailers frame or, for a trailers-only answer, the HTTP headers. */
  status: number;
  statusMessage?: string;
}

/** Splits a gRPC-web response body into its message and status. */
export function parseGrpcWebBody(body: Uint8Array, headers: Record<string, string | string[] | undefined> = {}): GrpcWebAnswer {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let message: Uint8Array | undefined;
  let trailers: Record<string, string> = {};
  for (let at = 0; at + 5 <= buf.length;) {
    const flag = buf.readUInt8(at);
    const length = buf.readUInt32BE(at + 1);
    const payload = buf.subarray(at + 5, at + 5 + length);
    if (payload.length < length) throw new Error('the gRPC-web answer is cut short');
    if (flag & 0x80) trailers = { ...trailers, ...parseTrailers(payload.toString('utf8')) };
    else message ??= payload;
    at += 5 + length;
  }
  const header = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const statusText = trailers['grpc-status'] ?? header('grpc-status');
  const statusMessage = trailers['grpc-message'] ?? header('grpc-message');
  const answer: GrpcWebAnswer = { status: statusText === undefined ? (message ? 0 : 2) : Number(statusText) };
  if (message) answer.message = message;
  if (statusMessage) answer.statusMessage = safeDecode(statusMessage);
  return answer;
}

function parseTrailers(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// From runs to metrics.

/** The artifact ids of the Metrics outputs of a run's tasks, per task display name. */
export function metricsArtifactIds(run: Run): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const task of userTasks(run)) {
    const ids = metricsIdsOf(task);
    if (ids.length > 0 && task.display_name) out.set(task.display_name, ids);
  }
  return out;
}

/** A task's Metrics artifact ids: Flowbook's emitter names that output `metrics` (KFP_METRICS_ARTIFACT). */
function metricsIdsOf(task: TaskDetail): string[] {
  return (task.outputs?.metrics?.artifact_ids ?? []).map(String);
}

/** Metric name → value from the custom properties of Metrics artifacts (numbers only; `display_name` and the like are left out). */
export function metricsOf(artifacts: readonly MlmdArtifact[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of artifacts) {
    if (a.type !== undefined && a.type !== 'system.Metrics') continue;
    for (const [k, v] of Object.entries(a.customProperties)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}
