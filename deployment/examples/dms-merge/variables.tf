variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every name (function, queues, bucket)."
  type        = string
  default     = "meander-dms"
}

variable "lambda_dir" {
  description = "Folder holding cargo lambda's zips (`<fn>/bootstrap.zip`). Null: `target/lambda` of this repository; set it when CARGO_TARGET_DIR is elsewhere."
  type        = string
  default     = null
}

variable "dms_folder" {
  description = "The DMS S3 target endpoint's BucketFolder in the bucket."
  type        = string
  default     = "dms"
}

variable "tables_prefix" {
  description = "Folder of the bucket holding the Delta tables (`<prefix>/<schema>/<table>`)."
  type        = string
  default     = "live"
}

variable "key_columns" {
  description = "Primary-key columns per source table (`schema.table`)."
  type        = map(list(string))
  default     = { "public.orders" = ["id"] }
}

variable "timestamp_column" {
  description = "The endpoint's TimestampColumnName (null when unset)."
  type        = string
  default     = "dms_commit_ts"
}

variable "csv_header" {
  description = "The endpoint's AddColumnName."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its files and tables."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when the DLQ holds messages."
  type        = list(string)
  default     = []
}
