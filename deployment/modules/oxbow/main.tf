# oxbow: S3 object events for Parquet files become Delta commits.
# Trigger: its own SQS queue (standard, fed by S3 notifications; or FIFO, fed
# by group-events) with a DLQ. IAM: read objects and logs under the table
# prefixes, write only under `_delta_log/`, list only under the prefixes.

module "access" {
  source    = "../table-access"
  partition = module.function.partition
  grants = [{
    uris           = var.table_prefixes
    object_sid     = "ReadTables"
    object_actions = ["s3:GetObject"]
    # Commit files: `<root>/_delta_log/*`; with inferred roots, any table
    # below a prefix as well.
    log_sid       = "CommitToLogs"
    log_actions   = ["s3:PutObject"]
    log_cleanup   = var.allow_log_cleanup
    nested_tables = var.infer_table_roots
    list_sid      = "ListTables"
  }]
  kms_key_arns = var.kms_key_arns
}

module "function" {
  source = "../lambda-function"

  function_name      = var.name
  description        = "oxbow: S3 object events for Parquet files become Delta commits"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = module.access.json
  log_format         = var.log_format
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment = {
    TABLE_PREFIXES      = var.infer_table_roots ? null : join(",", var.table_prefixes)
    SCHEMA_EVOLUTION    = var.schema_evolution == null ? null : tostring(var.schema_evolution)
    COMMIT_MAX_ATTEMPTS = var.commit_max_attempts == null ? null : tostring(var.commit_max_attempts)
    RUST_LOG            = var.rust_log
  }
}

module "queue" {
  source = "../sqs-trigger"

  name                        = "${var.name}-events"
  fifo                        = var.fifo_source
  function_name               = module.function.function_arn
  role_name                   = module.function.role_name
  function_timeout            = var.timeout
  batch_size                  = coalesce(var.batch_size, var.fifo_source ? 10 : 100)
  batching_window_seconds     = var.batching_window_seconds
  maximum_concurrency         = var.maximum_concurrency
  max_receive_count           = var.max_receive_count
  s3_notification_bucket_arns = var.s3_notification_bucket_arns
  alarm_actions               = var.alarm_actions
  tags                        = var.tags
}
