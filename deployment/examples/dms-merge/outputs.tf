output "bucket" {
  description = "The bucket DMS writes to (under `dms_folder`) and the Delta tables live in (under `tables_prefix`)."
  value       = module.lake.bucket
}

output "dms_target_folder" {
  description = "The S3 target endpoint's BucketName / BucketFolder."
  value       = "s3://${module.lake.bucket}/${var.dms_folder}"
}

output "delta_table_uri" {
  description = "Where each source table's Delta table lives."
  value       = "s3://${module.lake.bucket}/${var.tables_prefix}/{schema}/{table}"
}

output "function_name" {
  description = "The dms-merge function."
  value       = module.dms_merge.function_name
}

output "dlq_url" {
  description = "Messages of files that could not be applied (`meander dlq inspect` / `replay`)."
  value       = module.dms_merge.dlq_url
}
