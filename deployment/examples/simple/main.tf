# S3 bucket notification -> SQS -> oxbow: every Parquet file written under
# s3://<bucket>/<tables_prefix>/<table>/ becomes part of the Delta table
# <tables_prefix>/<table> (table roots inferred from the path).

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

module "oxbow" {
  source = "../../modules/oxbow"

  name                        = "${var.name}-oxbow"
  package_path                = "${local.lambda_dir}/oxbow/bootstrap.zip"
  table_prefixes              = ["s3://${module.lake.bucket}/${var.tables_prefix}"]
  infer_table_roots           = true
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

  # S3 checks it may send to the queue when the notification is saved.
  depends_on = [module.oxbow]
}
