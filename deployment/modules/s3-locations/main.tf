# Turns s3:// locations into the pieces least-privilege S3 statements need:
# the bucket ARN, the ARN pattern of the objects under the prefix, and the
# `s3:prefix` pattern for ListBucket. Creates nothing.

locals {
  parts = [for u in var.uris : split("/", trimsuffix(trimprefix(u, "s3://"), "/"))]

  locations = [for p in local.parts : {
    bucket     = p[0]
    prefix     = join("/", slice(p, 1, length(p)))
    bucket_arn = "arn:${var.partition}:s3:::${p[0]}"
    # Objects under the prefix (the whole bucket for a bucket-root location).
    objects_arn = length(p) > 1 ? "arn:${var.partition}:s3:::${join("/", p)}/*" : "arn:${var.partition}:s3:::${p[0]}/*"
    # Keys under the prefix, for ARN patterns below it (`<key_arn>/_delta_log/*`).
    key_arn = "arn:${var.partition}:s3:::${join("/", p)}"
    # The `s3:prefix` a ListBucket under the location sends.
    list_prefix = length(p) > 1 ? "${join("/", slice(p, 1, length(p)))}/*" : "*"
  }]
}
