# group-events: S3 object events regrouped per Delta table onto an SQS FIFO
# queue (one message group per table), in front of oxbow.
# Trigger: its own standard SQS queue (fed by S3 notifications) with a DLQ.
# IAM: send to and read the attributes of the FIFO queue only; no S3 at all
# (objects are never read).

data "aws_iam_policy_document" "group_events" {
  statement {
    sid       = "SendToFifoQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [var.fifo_queue_arn]
  }

  dynamic "statement" {
    for_each = var.fifo_queue_kms_key_arn == null ? [] : [var.fifo_queue_kms_key_arn]
    content {
      sid       = "FifoQueueKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "function" {
  source = "../lambda-function"

  function_name      = var.name
  description        = "group-events: S3 object events regrouped per Delta table onto a FIFO queue"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = data.aws_iam_policy_document.group_events.json
  log_format         = var.log_format
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment = {
    QUEUE_URL          = var.fifo_queue_url
    TABLE_PREFIXES     = length(var.table_prefixes) > 0 ? join(",", var.table_prefixes) : null
    GROUP_DISTRIBUTION = var.group_distribution == null ? null : tostring(var.group_distribution)
    MAX_MESSAGE_BYTES  = var.max_message_bytes == null ? null : tostring(var.max_message_bytes)
    RUST_LOG           = var.rust_log
  }
}

module "queue" {
  source = "../sqs-trigger"

  name                        = "${var.name}-events"
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
