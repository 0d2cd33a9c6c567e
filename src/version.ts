// The Flowbook version, stamped on compiled workflows and runs. Kept in step with
// package.json by a unit test.
export const VERSION = '0.1.0';
