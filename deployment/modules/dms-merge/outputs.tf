output "function_name" {
  description = "Name of the dms-merge function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the dms-merge function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Log group of the function."
  value       = module.function.log_group_name
}

output "queue_arn" {
  description = "ARN of the source queue (the DMS bucket's S3 notifications send here)."
  value       = module.queue.queue_arn
}

output "queue_url" {
  description = "URL of the source queue."
  value       = module.queue.queue_url
}

output "queue_policy_id" {
  description = "ID of the queue policy for S3 notifications (null without buckets)."
  value       = module.queue.queue_policy_id
}

output "dlq_arn" {
  description = "ARN of the DLQ."
  value       = module.queue.dlq_arn
}

output "dlq_url" {
  description = "URL of the DLQ (`meander dlq inspect` / `replay`)."
  value       = module.queue.dlq_url
}

output "dlq_alarm_arn" {
  description = "ARN of the alarm on the DLQ's depth."
  value       = module.queue.dlq_alarm_arn
}
