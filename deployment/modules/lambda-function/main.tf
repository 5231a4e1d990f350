# What every Meander function shares: the function itself (provided.al2023,
# arm64, the `bootstrap` of a cargo-lambda zip), its execution role with an
# inline policy of exactly the permissions the caller passes plus logging on
# its own log group, the log group with a retention, and, for functions
# invoked asynchronously, a failure queue with an alarm.
#
# Event source mappings (SQS, DynamoDB Streams) invoke synchronously, so a
# function-level DLQ (`dead_letter_config`) would never receive anything for
# them: their failures are handled by the source queue's redrive policy or the
# stream mapping's on-failure destination (see ../sqs-trigger and
# ../dynamo-cdc).

locals {
  environment = { for k, v in var.environment : k => v if v != null }
}

# Partition and account are known at plan time; the region is read from the
# log group's ARN (the same on AWS provider 5 and 6, where aws_region's
# attributes differ).
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumesTheRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.function_name}-role"
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 30 days): function logs are for operations, not audit, and a year of them costs more than the functions.
  #checkov:skip=CKV_AWS_158:A customer managed key is optional (log_kms_key_arn); CloudWatch Logs encrypts log data at rest either way.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_iam_role_policy" "function" {
  name   = "function"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call only S3, SQS, DynamoDB Streams and Glue public endpoints; a VPC would need NAT or endpoints and ec2:*NetworkInterface permissions on "*".
  #checkov:skip=CKV_AWS_116:Event source mappings invoke synchronously, so a function DLQ would stay empty: failures go to the source queue's DLQ or the stream's on-failure destination; asynchronous invocations get an on-failure destination (async_failure_queue).
  #checkov:skip=CKV_AWS_272:The zip is built from source by cargo lambda in the deploying pipeline; AWS Signer profiles are not part of this deployment.
  #checkov:skip=CKV_AWS_50:Active X-Ray tracing needs xray:PutTraceSegments on "*", which the no-wildcard IAM rule forbids, and the functions emit no segments.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded per source by the event source mapping (maximum_concurrency, FIFO message groups, stream shards); reserved_concurrent_executions is available to reserve more.
  #checkov:skip=CKV_AWS_173:The environment holds bucket URIs, queue URLs and names, no secrets; Lambda encrypts it at rest, and environment_kms_key_arn selects a customer managed key.
  function_name                  = var.function_name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = ["arm64"]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.environment_kms_key_arn
  tags                           = var.tags

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [1] : []
    content {
      variables = local.environment
    }
  }

  logging_config {
    log_format            = var.log_format
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.log_format == "JSON" ? var.log_level : null
  }

  tracing_config {
    mode = "PassThrough"
  }

  depends_on = [aws_iam_role_policy.logs]
}

# Asynchronous invocations (EventBridge schedules, S3 or SNS invoking the
# function directly) that failed every retry land in a queue with an alarm.
module "async_failures" {
  count  = var.async_failure_queue ? 1 : 0
  source = "../dead-letter-queue"

  name              = "${var.function_name}-async-failures"
  alarm_description = "Asynchronous invocations of ${var.function_name} failed every attempt; each message holds the event and the error."
  alarm_actions     = var.alarm_actions
  tags              = var.tags
}

data "aws_iam_policy_document" "async_failures" {
  count = var.async_failure_queue ? 1 : 0

  statement {
    sid       = "SendFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [module.async_failures[0].arn]
  }
}

resource "aws_iam_role_policy" "async_failures" {
  count  = var.async_failure_queue ? 1 : 0
  name   = "async-failures"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.async_failures[0].json
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count                        = var.async_failure_queue ? 1 : 0
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_maximum_retry_attempts
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = module.async_failures[0].arn
    }
  }

  depends_on = [aws_iam_role_policy.async_failures]
}
