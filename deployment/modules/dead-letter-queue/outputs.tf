output "arn" {
  description = "ARN of the queue."
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "URL of the queue (what `meander dlq inspect` and `meander dlq replay` take)."
  value       = aws_sqs_queue.this.url
}

output "name" {
  description = "Name of the queue."
  value       = aws_sqs_queue.this.name
}

output "alarm_arn" {
  description = "ARN of the queue-depth alarm."
  value       = aws_cloudwatch_metric_alarm.depth.arn
}

output "alarm_name" {
  description = "Name of the queue-depth alarm."
  value       = aws_cloudwatch_metric_alarm.depth.alarm_name
}
