output "queue_arn" {
  description = "ARN of the source queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "URL of the source queue."
  value       = aws_sqs_queue.this.url
}

output "queue_name" {
  description = "Name of the source queue."
  value       = aws_sqs_queue.this.name
}

output "queue_policy_id" {
  description = "ID of the queue policy letting the buckets notify the queue (null without buckets); depend on it before creating bucket notifications."
  value       = length(var.s3_notification_bucket_arns) > 0 ? aws_sqs_queue_policy.s3_notifications[0].id : null
}

output "dlq_arn" {
  description = "ARN of the DLQ."
  value       = module.dlq.arn
}

output "dlq_url" {
  description = "URL of the DLQ."
  value       = module.dlq.url
}

output "dlq_alarm_arn" {
  description = "ARN of the alarm on the DLQ's depth."
  value       = module.dlq.alarm_arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}
