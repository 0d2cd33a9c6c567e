// The one error type of the image module. Its message is written for the person at the
// keyboard: what failed, which notebook setting / registry / builder it concerns, and what
// to do. It never contains credentials. Anything else thrown from here is a bug.

export type ImageErrorKind =
  | 'input'
  | 'interpreter'
  | 'unauthorized'
  | 'not-found'
  | 'registry'
  | 'builder-missing'
  | 'build-failed'
  // The cluster a Kaniko build runs on refused or failed a call (the message names which).
  | 'cluster'
  | 'cancelled';

export class ImageError extends Error {
  constructor(
    message: string,
    readonly kind: ImageErrorKind = 'input',
    /** For `build-failed`: the builder's last log lines. */
    readonly logTail: string[] = [],
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** The CLI options image messages name, and the VS Code settings that do the same. */
const SETTING_FOR_OPTION: readonly (readonly [string, string])[] = [
  ['--registry-secret', 'flowbook.cluster.registrySecret'],
  ['--registry', 'flowbook.images.registry'],
  ['--builder', 'flowbook.images.builder'],
  ['--insecure', 'flowbook.images.insecure'],
  ['--image', 'flowbook.defaultImage'],
  ['--python', 'flowbook.pythonInterpreter'],
];

/** An image message for the extension: each CLI option it names becomes the matching `flowbook.*` setting. */
export function inSettingsTerms(message: string): string {
  let out = message;
  for (const [option, setting] of SETTING_FOR_OPTION) out = out.replace(new RegExp(`${option}(?![\\w-])`, 'g'), setting);
  return out;
}
