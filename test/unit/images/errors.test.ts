// Image messages in VS Code: the builder's messages name CLI options (`--builder`,
// `--insecure`, ...); the extension shows them with the matching `flowbook.*` settings.

import * as assert from 'node:assert/strict';
import { inSettingsTerms } from '../../../src/images/errors';

describe('image errors in VS Code (inSettingsTerms)', () => {
  it('maps each option (not its longer relatives such as --registry-secret) and leaves other text alone', () => {
    assert.equal(
      inSettingsTerms('The buildah builder cannot be used here: buildah is not installed. Install or start it, or choose another builder (--builder auto|docker|podman|buildah|kaniko|oci).'),
      'The buildah builder cannot be used here: buildah is not installed. Install or start it, or choose another builder (flowbook.images.builder auto|docker|podman|buildah|kaniko|oci).',
    );
    assert.equal(
      inSettingsTerms('build again with --registry-secret s, push with --registry r --insecure, base --image x, pin from --python p; --images-dir stays'),
      'build again with flowbook.cluster.registrySecret s, push with flowbook.images.registry r flowbook.images.insecure, base flowbook.defaultImage x, pin from flowbook.pythonInterpreter p; --images-dir stays',
    );
  });
});
