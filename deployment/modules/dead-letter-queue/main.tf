# A queue that holds what failed, with a redrive allow policy and an alarm on
# its depth. Used as the DLQ of every source queue (redrive allow `byQueue`
# naming the source) and as the on-failure destination of streams and
# asynchronous invocations (`denyAll`: no queue may redrive into it).

resource "aws_sqs_queue" "this" {
  name                      = var.fifo ? "${var.name}.fifo" : var.name
  fifo_queue                = var.fifo
  message_retention_seconds = var.message_retention_seconds
  sqs_managed_sse_enabled   = var.kms_master_key_id == null ? true : null
  kms_master_key_id         = var.kms_master_key_id
  tags                      = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  redrive_allow_policy = length(var.source_queue_arns) > 0 ? jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = var.source_queue_arns
  }) : jsonencode({ redrivePermission = "denyAll" })
}

resource "aws_cloudwatch_metric_alarm" "depth" {
  alarm_name          = "${aws_sqs_queue.this.name}-not-empty"
  alarm_description   = var.alarm_description
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = var.alarm_period
  evaluation_periods  = 1
  threshold           = var.alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.tags
}
