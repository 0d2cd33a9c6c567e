// User text (file names, step names, cell text) that lands in a `#` comment of a generated
// Python script or YAML file. Python ends a comment at \n or \r, YAML 1.1 readers also at
// U+0085, U+2028 and U+2029, so a file named `x<newline>print(1)` would become code or YAML
// keys; every character that could end the line or hide what it says is escaped.

/** Line ends (\n, \r, form feed and friends), other controls, Unicode line/paragraph separators, the BOM, lone surrogates. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_IN_COMMENT = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]|\p{Cs}/gu;

/** `text` as it may appear inside a one-line Python comment: the same text, unsafe characters as `\n`, `\r`, `\uXXXX`. */
export function pyComment(text: string): string {
  return text.replace(UNSAFE_IN_COMMENT, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** `text` inside a one-line YAML comment: the same escapes (YAML's line breaks are among them). */
export const yamlComment = pyComment;
