output "bucket" {
  description = "The lake bucket: write Parquet files under `<tables_prefix>/<table>/`."
  value       = module.lake.bucket
}

output "function_name" {
  description = "The oxbow function."
  value       = module.oxbow.function_name
}

output "queue_url" {
  description = "oxbow's source queue."
  value       = module.oxbow.queue_url
}

output "dlq_url" {
  description = "oxbow's DLQ (`meander dlq inspect <url>`)."
  value       = module.oxbow.dlq_url
}

output "log_group_name" {
  description = "oxbow's log group."
  value       = module.oxbow.log_group_name
}
