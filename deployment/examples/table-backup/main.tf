# An EventBridge schedule -> table-backup: every hour, each table that has
# new versions is copied (server-side, incrementally, consistent at one
# version) into a separate backup bucket. Restore with `meander restore`.

provider "aws" {
  region = var.region
}

locals {
  lambda_dir  = coalesce(var.lambda_dir, "${path.module}/../../../target/lambda")
  lake_bucket = var.lake_bucket == null ? module.lake[0].bucket : var.lake_bucket
}

module "lake" {
  count  = var.lake_bucket == null ? 1 : 0
  source = "../../modules/lake-bucket"

  bucket_prefix = "${var.name}-lake-"
  force_destroy = var.force_destroy
}

module "backups" {
  source = "../../modules/lake-bucket"

  bucket_prefix = "${var.name}-copies-"
  force_destroy = var.force_destroy
}

module "table_backup" {
  source = "../../modules/table-backup"

  name                  = "${var.name}-table-backup"
  package_path          = "${local.lambda_dir}/table-backup/bootstrap.zip"
  source_table_uris     = [for p in var.table_paths : "s3://${local.lake_bucket}/${p}"]
  backup_uri            = "s3://${module.backups.bucket}/meander"
  schedule_expression   = var.schedule_expression
  backup_every_versions = var.backup_every_versions
  backup_storage_class  = var.backup_storage_class
  alarm_actions         = var.alarm_actions
}
