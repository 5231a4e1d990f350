output "function_name" {
  description = "Name of the table-backup function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the table-backup function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role (grant it access in a backup bucket of another account)."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Log group of the function."
  value       = module.function.log_group_name
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge schedule rule, or null."
  value       = var.schedule_expression == null ? null : aws_cloudwatch_event_rule.schedule[0].arn
}

output "async_failure_queue_url" {
  description = "URL of the queue of scheduled invocations that failed every attempt, or null."
  value       = module.function.async_failure_queue_url
}

output "async_failure_alarm_arn" {
  description = "ARN of the alarm on that queue, or null."
  value       = module.function.async_failure_alarm_arn
}

output "queue_arn" {
  description = "ARN of the commit queue (S3 notifications send here), or null."
  value       = var.commit_trigger ? module.queue[0].queue_arn : null
}

output "queue_url" {
  description = "URL of the commit queue, or null."
  value       = var.commit_trigger ? module.queue[0].queue_url : null
}

output "queue_policy_id" {
  description = "ID of the commit queue's policy for S3 notifications, or null."
  value       = var.commit_trigger ? module.queue[0].queue_policy_id : null
}

output "dlq_url" {
  description = "URL of the commit queue's DLQ, or null."
  value       = var.commit_trigger ? module.queue[0].dlq_url : null
}

output "dlq_alarm_arn" {
  description = "ARN of the alarm on the commit queue's DLQ, or null."
  value       = var.commit_trigger ? module.queue[0].dlq_alarm_arn : null
}
