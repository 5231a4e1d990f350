# table-backup: point-in-time, Delta-aware backups by server-side copy.
# Triggers: an EventBridge schedule (asynchronous: failures after retries go
# to an SQS queue with an alarm) and/or an SQS queue of commit notifications
# (with a DLQ). IAM: read (and list) the source tables only; read, write and
# list below the backup root only; never delete.

module "access" {
  source    = "../table-access"
  partition = module.function.partition
  grants = [
    # CopyObject copies the source's tags (TaggingDirective COPY), which
    # needs GetObjectTagging on the source and PutObjectTagging on the copy.
    {
      uris           = var.source_table_uris
      object_sid     = "ReadSourceTables"
      object_actions = ["s3:GetObject", "s3:GetObjectTagging"]
      list_sid       = "ListSourceTable"
    },
    # PutObject covers CopyObject's target, CreateMultipartUpload,
    # UploadPartCopy and CompleteMultipartUpload; a failed multipart copy is
    # aborted.
    {
      uris           = [var.backup_uri]
      object_sid     = "WriteBackups"
      object_actions = ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"]
      list_sid       = "ListBackups"
      single         = true
    },
  ]
  kms_key_arns = var.kms_key_arns
}

module "function" {
  source = "../lambda-function"

  function_name                = var.name
  description                  = "table-backup: point-in-time Delta table backups by server-side copy"
  package_path                 = var.package_path
  memory_size                  = var.memory_size
  timeout                      = var.timeout
  policy_json                  = module.access.json
  log_format                   = var.log_format
  log_level                    = var.log_level
  log_retention_days           = var.log_retention_days
  async_failure_queue          = var.schedule_expression != null
  async_maximum_retry_attempts = var.async_maximum_retry_attempts
  alarm_actions                = var.alarm_actions
  tags                         = var.tags

  environment = {
    BACKUP_URI            = var.backup_uri
    SOURCE_TABLE_URIS     = join(",", var.source_table_uris)
    BACKUP_EVERY_VERSIONS = var.backup_every_versions == null ? null : tostring(var.backup_every_versions)
    COPY_CONCURRENCY      = var.copy_concurrency == null ? null : tostring(var.copy_concurrency)
    BACKUP_STORAGE_CLASS  = var.backup_storage_class
    RUST_LOG              = var.rust_log
  }
}

resource "aws_cloudwatch_event_rule" "schedule" {
  count               = var.schedule_expression == null ? 0 : 1
  name                = "${var.name}-schedule"
  description         = "Backs up the due tables of ${var.name}"
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  count = var.schedule_expression == null ? 0 : 1
  rule  = aws_cloudwatch_event_rule.schedule[0].name
  arn   = module.function.function_arn
}

resource "aws_lambda_permission" "schedule" {
  count         = var.schedule_expression == null ? 0 : 1
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[0].arn
}

module "queue" {
  count  = var.commit_trigger ? 1 : 0
  source = "../sqs-trigger"

  name                        = "${var.name}-commits"
  function_name               = module.function.function_arn
  role_name                   = module.function.role_name
  function_timeout            = var.timeout
  batch_size                  = var.batch_size
  batching_window_seconds     = var.batching_window_seconds
  maximum_concurrency         = var.maximum_concurrency
  max_receive_count           = var.max_receive_count
  s3_notification_bucket_arns = var.s3_notification_bucket_arns
  alarm_actions               = var.alarm_actions
  tags                        = var.tags
}
