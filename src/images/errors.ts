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
