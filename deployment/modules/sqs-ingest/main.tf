# sqs-ingest: JSON records pushed to an SQS queue become rows of a Delta table.
# Trigger: its own SQS queue (producers send to `queue_url` with their own
# sqs:SendMessage permission) with a DLQ for bad records.
# IAM: read and write objects under the table only, list only under it;
# buffer-more receives and deletes on the same source queue.

module "access" {
  source    = "../table-access"
  partition = module.function.partition
  grants = [{
    uris           = [var.table_uri]
    object_sid     = "ReadWriteTable"
    object_actions = ["s3:GetObject", "s3:PutObject"]
    log_cleanup    = var.allow_log_cleanup
    list_sid       = "ListTable"
    single         = true
  }]
  kms_key_arns = var.kms_key_arns
}

module "function" {
  source = "../lambda-function"

  function_name      = var.name
  description        = "sqs-ingest: JSON records from SQS become rows of a Delta table"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = module.access.json
  log_format         = var.log_format
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment = {
    DELTA_TABLE_URI       = var.table_uri
    SCHEMA_EVOLUTION      = var.schema_evolution == null ? null : tostring(var.schema_evolution)
    PARTITION_BY          = length(var.partition_by) > 0 ? join(",", var.partition_by) : null
    TIMESTAMP_COLUMNS     = length(var.timestamp_columns) > 0 ? join(",", var.timestamp_columns) : null
    BUFFER_MORE_QUEUE_URL = var.buffer_more_messages > 0 ? module.queue.queue_url : null
    BUFFER_MORE_MESSAGES  = var.buffer_more_messages > 0 ? tostring(var.buffer_more_messages) : null
    BUFFER_MORE_MAX_BYTES = var.buffer_more_max_bytes == null ? null : tostring(var.buffer_more_max_bytes)
    COMMIT_MAX_ATTEMPTS   = var.commit_max_attempts == null ? null : tostring(var.commit_max_attempts)
    RUST_LOG              = var.rust_log
  }
}

module "queue" {
  source = "../sqs-trigger"

  name                      = "${var.name}-records"
  fifo                      = var.fifo
  function_name             = module.function.function_arn
  role_name                 = module.function.role_name
  function_timeout          = var.timeout
  batch_size                = coalesce(var.batch_size, var.fifo ? 10 : 1000)
  batching_window_seconds   = var.batching_window_seconds
  maximum_concurrency       = var.maximum_concurrency
  max_receive_count         = var.max_receive_count
  message_retention_seconds = var.message_retention_seconds
  alarm_actions             = var.alarm_actions
  tags                      = var.tags
}
