# A DynamoDB table's stream -> dynamo-cdc -> a Delta table that mirrors it
# (upsert) or records every change (append), at
# s3://<bucket>/<tables_prefix>/<DynamoDB table name>.

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

resource "aws_dynamodb_table" "orders" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (aws/dynamodb); a customer managed key is a choice of the table's owner, not of the stream consumer.
  name             = "${var.name}-orders"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "order_id"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "order_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

module "dynamo_cdc" {
  source = "../../modules/dynamo-cdc"

  name          = "${var.name}-dynamo-cdc"
  package_path  = "${local.lambda_dir}/dynamo-cdc/bootstrap.zip"
  stream_arns   = { orders = aws_dynamodb_table.orders.stream_arn }
  table_uri     = "s3://${module.lake.bucket}/${var.tables_prefix}/{table}"
  mode          = var.mode
  alarm_actions = var.alarm_actions
}
