output "function_name" {
  description = "Name of the dynamo-cdc function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the dynamo-cdc function."
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

output "event_source_mapping_uuids" {
  description = "UUID of each stream's event source mapping, by the keys of `stream_arns`."
  value       = { for k, m in aws_lambda_event_source_mapping.stream : k => m.uuid }
}

output "failure_queue_arn" {
  description = "ARN of the on-failure destination queue."
  value       = module.failures.arn
}

output "failure_queue_url" {
  description = "URL of the on-failure destination queue."
  value       = module.failures.url
}

output "failure_alarm_arn" {
  description = "ARN of the alarm on the failure queue's depth."
  value       = module.failures.alarm_arn
}
