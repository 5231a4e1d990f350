# dms-merge: AWS DMS full-load and CDC files on S3 become live Delta tables.
# Trigger: its own standard SQS queue fed by the DMS bucket's S3
# notifications, with a DLQ. IAM: read and list the DMS folders (and the
# table-definition object); read, write and list the Delta tables under
# `table_uri` (`{schema}` and `{table}` as `*`).

locals {
  # `schema.table=col1,col2;...`
  key_columns = join(";", [for t, cols in var.key_columns : "${t}=${join(",", cols)}"])
  # The table definition, when it is an S3 object rather than inline JSON.
  definition_arn = startswith(coalesce(var.table_definition, "-"), "s3://") ? "arn:${module.function.partition}:s3:::${trimprefix(coalesce(var.table_definition, "-"), "s3://")}" : null
}

module "access" {
  source    = "../table-access"
  partition = module.function.partition
  grants = [
    {
      uris              = var.dms_locations
      object_sid        = "ReadDmsFiles"
      object_actions    = ["s3:GetObject"]
      extra_object_arns = local.definition_arn == null ? [] : [local.definition_arn]
      list_sid          = "ListDmsFolders"
    },
    {
      uris           = [replace(replace(var.table_uri, "{schema}", "*"), "{table}", "*")]
      object_sid     = "ReadWriteTables"
      object_actions = ["s3:GetObject", "s3:PutObject"]
      log_cleanup    = var.allow_log_cleanup
      list_sid       = "ListTables"
      single         = true
    },
  ]
  kms_key_arns = var.kms_key_arns
}

module "function" {
  source = "../lambda-function"

  function_name      = var.name
  description        = "dms-merge: AWS DMS full-load and CDC files on S3 become live Delta tables"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = module.access.json
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
