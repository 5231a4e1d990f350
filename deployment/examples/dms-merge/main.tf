# AWS DMS -> S3 (CSV or Parquet, full load + CDC) -> S3 notification -> SQS
# -> dms-merge -> live Delta tables at
# s3://<bucket>/<tables_prefix>/<schema>/<table>. The DMS S3 target endpoint
# writes to s3://<bucket>/<dms_folder>/ (its BucketFolder); the endpoint and
# the replication task are yours (settings in the README).

provider "aws" {
  region = var.region
}

locals {
  lambda_dir = coalesce(var.lambda_dir, "${path.module}/../../../target/lambda")
}

module "lake" {
  source = "../../modules/lake-bucket"

  bucket_prefix = "${var.name}-lake-"
  force_destroy = var.force_destroy
}

module "dms_merge" {
  source = "../../modules/dms-merge"

  name                        = "${var.name}-dms-merge"
  package_path                = "${local.lambda_dir}/dms-merge/bootstrap.zip"
  dms_locations               = ["s3://${module.lake.bucket}/${var.dms_folder}"]
  table_uri                   = "s3://${module.lake.bucket}/${var.tables_prefix}/{schema}/{table}"
  key_columns                 = var.key_columns
  timestamp_column            = var.timestamp_column
  csv_header                  = var.csv_header
  s3_notification_bucket_arns = [module.lake.arn]
  alarm_actions               = var.alarm_actions
}

resource "aws_s3_bucket_notification" "lake" {
  bucket = module.lake.bucket

  queue {
    id            = "dms-files-to-dms-merge"
    queue_arn     = module.dms_merge.queue_arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "${var.dms_folder}/"
  }

  # S3 checks it may send to the queue when the notification is saved.
  depends_on = [module.dms_merge]
}
