output "bucket" {
  description = "The lake bucket: write Parquet files under `<tables_prefix>/<table>/`."
  value       = module.lake.bucket
}

output "table_uris" {
  description = "The Delta tables."
  value       = local.table_prefixes
}

output "group_events_function_name" {
  description = "The group-events function."
  value       = module.group_events.function_name
}

output "oxbow_function_name" {
  description = "The oxbow function."
  value       = module.oxbow.function_name
}

output "fifo_queue_url" {
  description = "The FIFO queue between group-events and oxbow."
  value       = module.oxbow.queue_url
}

output "dlq_urls" {
  description = "The DLQs: of the notification queue (group-events) and of the FIFO queue (oxbow)."
  value = {
    group_events = module.group_events.dlq_url
    oxbow        = module.oxbow.dlq_url
  }
}
