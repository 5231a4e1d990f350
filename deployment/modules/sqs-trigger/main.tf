# An SQS source queue owned by one function: the queue, its DLQ (redrive
# policy to it, redrive allow policy naming the queue, alarm on its depth),
# the event source mapping with partial batch responses, and the role's
# permission to consume the queue.

locals {
  queue_name         = var.fifo ? "${var.name}.fifo" : var.name
  visibility_timeout = coalesce(var.visibility_timeout_seconds, min(43200, 6 * var.function_timeout))
}

data "aws_caller_identity" "current" {}

module "dlq" {
  source = "../dead-letter-queue"

  name                      = "${var.name}-dlq"
  fifo                      = var.fifo
  source_queue_arns         = [aws_sqs_queue.this.arn]
  message_retention_seconds = var.dlq_message_retention_seconds
  kms_master_key_id         = var.kms_master_key_id
  alarm_description         = "Messages of ${local.queue_name} failed ${var.max_receive_count} times: inspect with `meander dlq inspect`, fix, then `meander dlq replay`."
  alarm_actions             = var.alarm_actions
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = local.queue_name
  fifo_queue                 = var.fifo
  deduplication_scope        = var.fifo && var.fifo_high_throughput ? "messageGroup" : null
  fifo_throughput_limit      = var.fifo && var.fifo_high_throughput ? "perMessageGroupId" : null
  visibility_timeout_seconds = local.visibility_timeout
  message_retention_seconds  = var.message_retention_seconds
  sqs_managed_sse_enabled    = var.kms_master_key_id == null ? true : null
  kms_master_key_id          = var.kms_master_key_id
  redrive_policy = jsonencode({
    deadLetterTargetArn = module.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

data "aws_iam_policy_document" "s3_notifications" {
  count = length(var.s3_notification_bucket_arns) > 0 ? 1 : 0

  statement {
    sid       = "S3EventNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = var.s3_notification_bucket_arns
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "s3_notifications" {
  count     = length(var.s3_notification_bucket_arns) > 0 ? 1 : 0
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.s3_notifications[0].json
}

data "aws_iam_policy_document" "consume" {
  statement {
    sid       = "ConsumeSourceQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.this.arn]
  }

  dynamic "statement" {
    for_each = var.kms_master_key_id == null ? [] : [var.kms_master_key_id]
    content {
      sid       = "DecryptSourceQueue"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "consume" {
  name   = "consume-${aws_sqs_queue.this.name}"
  role   = var.role_name
  policy = data.aws_iam_policy_document.consume.json
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = var.function_name
  enabled                            = var.enabled
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.fifo ? null : var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.maximum_concurrency == null ? [] : [var.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.batch_size >= 1 && var.batch_size <= (var.fifo ? 10 : 10000)
      error_message = "batch_size: 1 to 10 on FIFO queues, 1 to 10000 on standard queues."
    }
    precondition {
      condition     = var.batch_size <= 10 || var.batching_window_seconds >= 1
      error_message = "A batch_size above 10 needs batching_window_seconds of at least 1."
    }
  }

  # Lambda checks the role can read the queue when the mapping is created.
  depends_on = [aws_iam_role_policy.consume]
}
