// Kubernetes and image-reference rules for the names and values a notebook sets (settings in
// its metadata, tags on its cells), checked where they are parsed so a bad value becomes a
// diagnostic naming the cell or setting instead of an error from the cluster later. Each
// check returns undefined for a good value, else what the rule is, in words for people.

/** A check of one kind of value: undefined when `value` is good, else the rule it breaks. */
export type Check = (value: string) => string | undefined;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The name part of a qualified name (label and annotation keys, resource names). */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** A Kubernetes resource quantity: a decimal number with an optional SI, binary or exponent suffix. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
/** Keys of a Secret's data: letters, digits, `-`, `_`, `.`. */
const SECRET_KEY = /^[-._A-Za-z0-9]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Image references as Docker's distribution/reference grammar spells them.
export const IMAGE_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
export const IMAGE_TAG = /^[\w][\w.-]{0,127}$/;
export const IMAGE_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const REGISTRY_HOST = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const DNS_LABEL_RULE = 'at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit';
const DNS_SUBDOMAIN_RULE = 'at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit';

/** A namespace name (a DNS-1123 label). */
export const namespaceName: Check = (v) => (v.length <= 63 && DNS_LABEL.test(v) ? undefined : `a namespace is ${DNS_LABEL_RULE}`);

/** Names of storage classes, secrets and claims (DNS-1123 subdomains). */
export const objectName: Check = (v) => (v.length <= 253 && DNS_SUBDOMAIN.test(v) ? undefined : `a Kubernetes object name is ${DNS_SUBDOMAIN_RULE}`);

/** A resource quantity such as `2Gi`, `500m` or `1`. */
export const quantity: Check = (v) => (QUANTITY.test(v) ? undefined : 'a quantity is a number with an optional unit, such as "2Gi", "500Mi", "500m" or "1"');

/** A volume size: a quantity above zero. */
export const volumeSize: Check = (v) => {
  if (quantity(v)) return 'a volume size is a number with a unit, such as "5Gi" or "500Mi"';
  return Number.parseFloat(v) > 0 ? undefined : 'a volume size must be more than zero, such as "5Gi"';
};

/** A qualified name: label and annotation keys, resource names (`[prefix/]name`). */
export const qualifiedName: Check = (v) => {
  const slash = v.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : v.slice(0, slash);
  const name = slash < 0 ? v : v.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `the prefix before "/" is ${DNS_SUBDOMAIN_RULE}`;
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) return 'a key is an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
};

/** A label value: empty, or at most 63 letters, digits, `-`, `_`, `.`. */
export const labelValue: Check = (v) => (v.length <= 63 && LABEL_VALUE.test(v) ? undefined : 'a label value is empty or at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');

/** An annotation value: any text, within Kubernetes' 256 KB for all annotations. */
export const annotationValue: Check = (v) => (Buffer.byteLength(v) <= 256 * 1024 ? undefined : 'annotations may hold at most 256 KB in all');

/** A key in a Secret. */
export const secretKey: Check = (v) => (v.length <= 253 && SECRET_KEY.test(v) ? undefined : 'a secret key is letters, digits, "-", "_" and "." (no spaces), at most 253 of them');

/** An environment variable name. */
export const envName: Check = (v) => (ENV_NAME.test(v) ? undefined : 'an environment variable name is letters, digits and "_", not starting with a digit');

/** An absolute path in the container. */
export const mountPath: Check = (v) => (v.startsWith('/') && !v.includes(':') ? undefined : 'a mount point is an absolute path such as "/data", without ":"');

const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
/** A PersistentVolumeClaim access mode. */
export const accessMode: Check = (v) => (ACCESS_MODES.includes(v) ? undefined : `an access mode is one of ${ACCESS_MODES.join(', ')}`);

/** An image reference `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`, as Docker and Kubernetes read it. */
export const imageReference: Check = (v) => {
  const rule = 'write it like "python:3.12-slim" or "registry.example.com/team/image:tag"';
  if (v.length === 0 || v !== v.trim() || /\s/.test(v)) return `an image reference has no spaces; ${rule}`;
  let rest = v;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!IMAGE_DIGEST.test(rest.slice(at + 1))) return `the digest after "@" is malformed; ${rule}`;
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    if (!IMAGE_TAG.test(rest.slice(colon + 1))) return `the tag after ":" is at most 128 letters, digits, "_", "." and "-"; ${rule}`;
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!REGISTRY_HOST.test(first)) return `the registry host "${first}" is malformed; ${rule}`;
    parts.shift();
  }
  if (rest.length > 255) return 'an image name is at most 255 characters';
  if (parts.length === 0 || parts.some((p) => !IMAGE_PATH_COMPONENT.test(p))) return `the repository path is lower-case letters, digits and separators; ${rule}`;
  return undefined;
};
