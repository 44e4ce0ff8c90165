/**
 * The filter of a lifecycle rule that applies to every object: an explicit empty prefix. An empty `filter {}`
 * matches the same objects, but hashicorp/aws 5.x warns "No attribute specified when one (and only one) of
 * [...prefix, tag, and, object_size_*] is required" and announces an error in a later version
 * (hashicorp/terraform-provider-aws#42112); S3 treats an empty prefix as the whole bucket
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-filters.html).
 */
export const WHOLE_BUCKET = { prefix: "" } as const;
