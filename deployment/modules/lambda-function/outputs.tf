output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Name of the execution role (callers attach trigger permissions to it)."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "async_failure_queue_url" {
  description = "URL of the queue holding failed asynchronous invocations, or null."
  value       = var.async_failure_queue ? module.async_failures[0].url : null
}

output "async_failure_queue_arn" {
  description = "ARN of the queue holding failed asynchronous invocations, or null."
  value       = var.async_failure_queue ? module.async_failures[0].arn : null
}

output "async_failure_alarm_arn" {
  description = "ARN of the alarm on the async failure queue, or null."
  value       = var.async_failure_queue ? module.async_failures[0].alarm_arn : null
}

output "partition" {
  description = "AWS partition of the deployment (`aws`, `aws-cn`, ...)."
  value       = data.aws_partition.current.partition
}

output "region" {
  description = "Region of the deployment (from the log group's ARN: known after apply)."
  value       = split(":", aws_cloudwatch_log_group.this.arn)[3]
}

output "account_id" {
  description = "Account of the deployment."
  value       = data.aws_caller_identity.current.account_id
}
