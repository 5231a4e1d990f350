output "dynamodb_table" {
  description = "The DynamoDB table whose changes are followed."
  value       = aws_dynamodb_table.orders.name
}

output "delta_table_uri" {
  description = "The Delta table the changes land in."
  value       = "s3://${module.lake.bucket}/${var.tables_prefix}/${aws_dynamodb_table.orders.name}"
}

output "function_name" {
  description = "The dynamo-cdc function."
  value       = module.dynamo_cdc.function_name
}

output "failure_queue_url" {
  description = "Batches that failed every retry are described here."
  value       = module.dynamo_cdc.failure_queue_url
}
