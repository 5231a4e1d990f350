# S3 bucket notification -> SQS -> group-events -> SQS FIFO (one message
# group per table) -> oxbow. Hundreds of files landing at once become a few
# commits per table instead of hundreds of oxbows racing on one log.

provider "aws" {
  region = var.region
}

locals {
  lambda_dir     = coalesce(var.lambda_dir, "${path.module}/../../../target/lambda")
  table_prefixes = [for t in var.tables : "s3://${module.lake.bucket}/${var.tables_prefix}/${t}"]
}

module "lake" {
  source = "../../modules/lake-bucket"

  bucket_prefix = "${var.name}-lake-"
  force_destroy = var.force_destroy
}

# oxbow reads the FIFO queue: one invocation at a time per message group.
module "oxbow" {
  source = "../../modules/oxbow"

  name           = "${var.name}-oxbow"
  package_path   = "${local.lambda_dir}/oxbow/bootstrap.zip"
  table_prefixes = local.table_prefixes
  fifo_source    = true
  alarm_actions  = var.alarm_actions
}

# group-events reads the bucket's notifications and regroups them per table
# onto oxbow's FIFO queue. Both get the same TABLE_PREFIXES.
module "group_events" {
  source = "../../modules/group-events"

  name                        = "${var.name}-group-events"
  package_path                = "${local.lambda_dir}/group-events/bootstrap.zip"
  fifo_queue_url              = module.oxbow.queue_url
  fifo_queue_arn              = module.oxbow.queue_arn
  table_prefixes              = local.table_prefixes
  group_distribution          = var.group_distribution
  s3_notification_bucket_arns = [module.lake.arn]
  alarm_actions               = var.alarm_actions
}

resource "aws_s3_bucket_notification" "lake" {
  bucket = module.lake.bucket

  queue {
    id            = "parquet-to-group-events"
    queue_arn     = module.group_events.queue_arn
    events        = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    filter_prefix = "${var.tables_prefix}/"
    filter_suffix = ".parquet"
  }

  # S3 checks it may send to the queue when the notification is saved.
  depends_on = [module.group_events]
}
