# glue-sync: the Glue Data Catalog follows every Delta table's schema.
# Trigger: its own SQS queue (fed by S3 notifications for `.json` keys) with
# a DLQ. IAM: Glue database/table actions on the named databases only; read
# `_delta_log/` objects below the table prefixes only.

module "access" {
  source    = "../table-access"
  partition = module.function.partition
  grants = [{
    uris          = var.table_prefixes
    log_sid       = "ReadDeltaLogs"
    log_actions   = ["s3:GetObject"]
    nested_tables = true
    list_sid      = "ListTables"
  }]
  kms_key_arns = var.kms_key_arns
}

locals {
  databases = distinct(compact(concat(var.glue_database == null ? [] : [var.glue_database], var.glue_databases)))
  glue_arn  = "arn:${module.function.partition}:glue:${module.function.region}:${coalesce(var.glue_catalog_id, module.function.account_id)}"

  catalog_arn   = "${local.glue_arn}:catalog"
  database_arns = [for d in local.databases : "${local.glue_arn}:database/${d}"]
  table_arns    = [for d in local.databases : "${local.glue_arn}:table/${d}/*"]
}

data "aws_iam_policy_document" "glue_sync" {
  source_policy_documents = [module.access.json]

  lifecycle {
    precondition {
      condition     = var.glue_database != null || var.glue_path_regex != null
      error_message = "Set glue_database, or glue_path_regex with a `database` group (glue-sync fails its cold start otherwise)."
    }
    precondition {
      condition     = length(local.databases) > 0
      error_message = "No Glue database to grant: set glue_database, or list in glue_databases the databases glue_path_regex names."
    }
  }

  statement {
    sid       = "ReadDatabases"
    actions   = var.allow_create_database ? ["glue:GetDatabase", "glue:CreateDatabase"] : ["glue:GetDatabase"]
    resources = concat([local.catalog_arn], local.database_arns)
  }

  statement {
    sid       = "SyncTables"
    actions   = ["glue:GetTable", "glue:CreateTable", "glue:UpdateTable"]
    resources = concat([local.catalog_arn], local.database_arns, local.table_arns)
  }
}

module "function" {
  source = "../lambda-function"

  function_name      = var.name
  description        = "glue-sync: the Glue Data Catalog follows every Delta table's schema"
  package_path       = var.package_path
  memory_size        = var.memory_size
  timeout            = var.timeout
  policy_json        = data.aws_iam_policy_document.glue_sync.json
  log_format         = var.log_format
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment = {
    GLUE_DATABASE   = var.glue_database
    GLUE_PATH_REGEX = var.glue_path_regex
    GLUE_CATALOG_ID = var.glue_catalog_id
    RUST_LOG        = var.rust_log
  }
}

module "queue" {
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
