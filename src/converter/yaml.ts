// Serialisation at the edge: objects → YAML that users commit, so the same object always
// gives the same bytes. Block style, keys in construction order, no line folding, multi-line
// strings (step scripts) as literal blocks, no anchors. YAML 1.1 rules decide quoting,
// because Kubernetes tools read YAML 1.1: `yes`, `on`, `0755` stay strings.

import { stringify } from 'yaml';

export function toYaml(obj: unknown): string {
  return stringify(obj, {
    version: '1.1',
    lineWidth: 0,
    minContentWidth: 0,
    blockQuote: 'literal',
    aliasDuplicateObjects: false,
    indentSeq: false,
    sortMapEntries: false,
  });
}
