output "locations" {
  description = "One object per URI, in order: `bucket`, `prefix` (no slashes at the ends, \"\" at the bucket root), `bucket_arn`, `objects_arn` (every object under the prefix), `key_arn` (the prefix as an ARN, to append patterns to) and `list_prefix` (the `s3:prefix` value of listings under it)."
  value       = local.locations
}

output "bucket_arns" {
  description = "The distinct bucket ARNs."
  value       = distinct([for l in local.locations : l.bucket_arn])
}
