# dms-merge: AWS DMS full-load and CDC files on S3 become live Delta tables.
# Trigger: its own standard SQS queue fed by the DMS bucket's S3
# notifications, with a DLQ. IAM: read and list the DMS folders (and the
# table-definition object); read, write and list the Delta tables under
# `table_uri` (`{schema}` and `{table}` as `*`).

module "sources" {
  source    = "../s3-locations"
  uris      = var.dms_locations
  partition = module.function.partition
}

module "tables" {
  source    = "../s3-locations"
  uris      = [replace(replace(var.table_uri, "{schema}", "*"), "{table}", "*")]
  partition = module.function.partition
}

locals {
  table = module.tables.locations[0]
  # `schema.table=col1,col2;...`
  key_columns = join(";", [for t, cols in var.key_columns : "${t}=${join(",", cols)}"])
  # The table definition, when it is an S3 object rather than inline JSON.
  definition_arn = startswith(coalesce(var.table_definition, "-"), "s3://") ? "arn:${module.function.partition}:s3:::${trimprefix(coalesce(var.table_definition, "-"), "s3://")}" : null
}

data "aws_iam_policy_document" "dms_merge" {
  statement {
    sid       = "ReadDmsFiles"
    actions   = ["s3:GetObject"]
    resources = concat([for l in module.sources.locations : l.objects_arn], local.definition_arn == null ? [] : [local.definition_arn])
  }

  dynamic "statement" {
    for_each = module.sources.locations
    content {
      sid       = "ListDmsFolders${statement.key}"
      actions   = ["s3:ListBucket"]
      resources = [statement.value.bucket_arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [statement.value.list_prefix]
      }
    }
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
  description        = "dms-merge: AWS DMS full-load and CDC files on S3 become live Delta tables"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = data.aws_iam_policy_document.dms_merge.json
  log_format         = var.log_format
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment = {
    DELTA_TABLE_URI     = var.table_uri
    KEY_COLUMNS         = local.key_columns
    TIMESTAMP_COLUMN    = var.timestamp_column
    CSV_HEADER          = var.csv_header == null ? null : tostring(var.csv_header)
    CSV_DELIMITER       = var.csv_delimiter
    CSV_NULL_VALUE      = var.csv_null_value
    TABLE_DEFINITION    = var.table_definition
    COMMIT_MAX_ATTEMPTS = var.commit_max_attempts == null ? null : tostring(var.commit_max_attempts)
    RUST_LOG            = var.rust_log
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
