# dynamo-cdc: DynamoDB stream records become a typed Delta changelog or mirror.
# Trigger: one stream event source mapping per stream, with partial batch
# responses, bisect on error, bounded retries and an SQS on-failure
# destination (with an alarm) so a poison record never blocks its shard.
# IAM: stream reads on the given streams only; objects under the table
# prefix (`{table}` as `*`); send to the failure queue.

module "access" {
  source    = "../table-access"
  partition = module.function.partition
  grants = [{
    uris           = [replace(var.table_uri, "{table}", "*")]
    object_sid     = "ReadWriteTables"
    object_actions = ["s3:GetObject", "s3:PutObject"]
    log_cleanup    = var.allow_log_cleanup
    list_sid       = "ListTables"
    single         = true
  }]
  kms_key_arns = var.kms_key_arns
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
  source_policy_documents = [module.access.json]

  statement {
    sid       = "ReadStreams"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
    resources = values(var.stream_arns)
  }

  statement {
    sid       = "SendFailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [module.failures.arn]
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
