// The builders a user can choose, in a module of its own so the CLI can offer the choices
// without loading the image builder.

export const BUILDER_CHOICES = ['auto', 'docker', 'podman', 'buildah', 'kaniko', 'oci'] as const;

export type BuilderChoice = (typeof BUILDER_CHOICES)[number];
export type BuilderName = Exclude<BuilderChoice, 'auto'>;
