/** Version constraint written into every stack's `required_providers` for hashicorp/aws (and backend.tf.json). */
export const AWS_PROVIDER_VERSION = "5.100.0";
