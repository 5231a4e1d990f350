# Parquet files -> oxbow -> Delta commits -> glue-sync -> Glue Data Catalog,
# so Athena queries every table under s3://<bucket>/<tables_prefix>/ as
# <glue_database>.<table>. One bucket notification, two queue
# configurations: `.parquet` to oxbow, commit files (`.json`) to glue-sync.

provider "aws" {
  region = var.region
}

locals {
  lambda_dir = coalesce(var.lambda_dir, "${path.module}/../../../target/lambda")
  tables_uri = "s3://${module.lake.bucket}/${var.tables_prefix}"
}

module "lake" {
  source = "../../modules/lake-bucket"

  bucket_prefix = "${var.name}-lake-"
  force_destroy = var.force_destroy
}

module "oxbow" {
  source = "../../modules/oxbow"

  name                        = "${var.name}-oxbow"
  package_path                = "${local.lambda_dir}/oxbow/bootstrap.zip"
  table_prefixes              = [local.tables_uri]
  infer_table_roots           = true
  s3_notification_bucket_arns = [module.lake.arn]
  alarm_actions               = var.alarm_actions
}

module "glue_sync" {
  source = "../../modules/glue-sync"

  name                        = "${var.name}-glue-sync"
  package_path                = "${local.lambda_dir}/glue-sync/bootstrap.zip"
  table_prefixes              = [local.tables_uri]
  glue_database               = var.glue_database
  s3_notification_bucket_arns = [module.lake.arn]
  alarm_actions               = var.alarm_actions
}

resource "aws_s3_bucket_notification" "lake" {
  bucket = module.lake.bucket

  queue {
    id            = "parquet-to-oxbow"
    queue_arn     = module.oxbow.queue_arn
    events        = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    filter_prefix = "${var.tables_prefix}/"
    filter_suffix = ".parquet"
  }

  # Notification filters cannot match `_delta_log/` inside a key: glue-sync
  # gets every `.json` under the prefix and keeps the commit files.
  queue {
    id            = "commits-to-glue-sync"
    queue_arn     = module.glue_sync.queue_arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "${var.tables_prefix}/"
    filter_suffix = ".json"
  }

  # S3 checks it may send to the queues when the notification is saved.
  depends_on = [module.oxbow, module.glue_sync]
}
