# dynamo-cdc: DynamoDB stream records become a typed Delta changelog or mirror.
# Trigger: one stream event source mapping per stream, with partial batch
# responses, bisect on error, bounded retries and an SQS on-failure
# destination (with an alarm) so a poison record never blocks its shard.
# IAM: stream reads on the given streams only; objects under the table
# prefix (`{table}` as `*`); send to the failure queue.

module "table" {
  source    = "../s3-locations"
  uris      = [replace(var.table_uri, "{table}", "*")]
  partition = module.function.partition
}

locals {
  table = module.table.locations[0]
}

# Where Lambda sends a description (shard, sequence numbers) of a batch that
# failed every retry. It is no queue's DLQ: redrive allow `denyAll`. The
# records themselves stay in the stream for 24 hours.
module "failures" {
  source = "../dead-letter-queue"

  name              = "${var.name}-failures"
  alarm_description = "Stream batches failed ${var.maximum_retry_attempts} retries and were skipped; each message names the shard and sequence numbers (readable from the stream for 24 h)."
  alarm_actions     = var.alarm_actions
  tags              = var.tags
}

data "aws_iam_policy_document" "dynamo_cdc" {
  statement {
    sid       = "ReadStreams"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
    resources = values(var.stream_arns)
  }

  statement {
    sid       = "ReadWriteTables"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.table.objects_arn]
  }

  statement {
    sid       = "ListTables"
    actions   = ["s3:ListBucket"]
    resources = [local.table.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.table.list_prefix]
    }
  }

  statement {
    sid       = "SendFailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [module.failures.arn]
  }

  dynamic "statement" {
    for_each = var.allow_log_cleanup ? [1] : []
    content {
      sid       = "CleanUpExpiredLogs"
      actions   = ["s3:DeleteObject"]
      resources = ["${local.table.key_arn}/_delta_log/*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "BucketKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.kms_key_arns
    }
  }
}

module "function" {
  source = "../lambda-function"

  function_name      = var.name
  description        = "dynamo-cdc: DynamoDB stream records become a typed Delta changelog or mirror"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = data.aws_iam_policy_document.dynamo_cdc.json
  log_format         = var.log_format
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment = {
    DELTA_TABLE_URI     = var.table_uri
    MODE                = var.mode
    PARTITION_BY        = length(var.partition_by) > 0 ? join(",", var.partition_by) : null
    TIMESTAMP_COLUMNS   = length(var.timestamp_columns) > 0 ? join(",", var.timestamp_columns) : null
    NESTED              = var.nested
    COMMIT_MAX_ATTEMPTS = var.commit_max_attempts == null ? null : tostring(var.commit_max_attempts)
    RUST_LOG            = var.rust_log
  }
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = var.stream_arns

  event_source_arn                   = each.value
  function_name                      = module.function.function_arn
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  parallelization_factor             = var.parallelization_factor
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = module.failures.arn
    }
  }

  # Lambda checks the role can read the stream when the mapping is created.
  depends_on = [module.function]
}
