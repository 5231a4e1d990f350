variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every name (function, queues, bucket)."
  type        = string
  default     = "meander-advanced"
}

variable "lambda_dir" {
  description = "Folder holding cargo lambda's zips (`<fn>/bootstrap.zip`). Null: `target/lambda` of this repository; set it when CARGO_TARGET_DIR is elsewhere."
  type        = string
  default     = null
}

variable "tables_prefix" {
  description = "Folder of the bucket holding the tables."
  type        = string
  default     = "tables"
}

variable "tables" {
  description = "Names of the tables: Parquet files under `<tables_prefix>/<table>/` (partition folders `k=v/` below) are committed to the Delta table `s3://<bucket>/<tables_prefix>/<table>`."
  type        = list(string)
  default     = ["orders", "customers"]
}

variable "group_distribution" {
  description = "Message groups per table: more lets several oxbows commit to one busy table at once (their commits conflict and are retried)."
  type        = number
  default     = 1
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its tables."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when a DLQ holds messages."
  type        = list(string)
  default     = []
}
