output "lake_bucket" {
  description = "The bucket of the tables."
  value       = local.lake_bucket
}

output "backup_uri" {
  description = "The backup root: `meander restore <backup_uri>/<bucket>/<table path> <target>`."
  value       = "s3://${module.backups.bucket}/meander"
}

output "function_name" {
  description = "The table-backup function (invoke it with `{}` for a backup now)."
  value       = module.table_backup.function_name
}

output "async_failure_queue_url" {
  description = "Scheduled runs that failed every retry land here."
  value       = module.table_backup.async_failure_queue_url
}
