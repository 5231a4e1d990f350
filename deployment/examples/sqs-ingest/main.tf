# Applications send JSON records to an SQS queue; sqs-ingest writes them to a
# Delta table (one commit per batch), bad records go to the DLQ.

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

module "sqs_ingest" {
  source = "../../modules/sqs-ingest"

  name              = "${var.name}-sqs-ingest"
  package_path      = "${local.lambda_dir}/sqs-ingest/bootstrap.zip"
  table_uri         = "s3://${module.lake.bucket}/${var.table_path}"
  partition_by      = var.partition_by
  timestamp_columns = var.timestamp_columns
  fifo              = var.fifo
  alarm_actions     = var.alarm_actions
}
