output "queue_url" {
  description = "Send JSON records here (producers need sqs:SendMessage on `queue_arn`)."
  value       = module.sqs_ingest.queue_url
}

output "queue_arn" {
  description = "ARN of the queue, for producers' IAM policies."
  value       = module.sqs_ingest.queue_arn
}

output "table_uri" {
  description = "The Delta table."
  value       = "s3://${module.lake.bucket}/${var.table_path}"
}

output "dlq_url" {
  description = "Bad records end up here (`meander dlq inspect <url>`)."
  value       = module.sqs_ingest.dlq_url
}

output "function_name" {
  description = "The sqs-ingest function."
  value       = module.sqs_ingest.function_name
}
