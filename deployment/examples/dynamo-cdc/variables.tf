variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every name (function, DynamoDB table, queue, bucket)."
  type        = string
  default     = "meander-cdc"
}

variable "lambda_dir" {
  description = "Folder holding cargo lambda's zips (`<fn>/bootstrap.zip`). Null: `target/lambda` of this repository; set it when CARGO_TARGET_DIR is elsewhere."
  type        = string
  default     = null
}

variable "mode" {
  description = "`upsert`: the Delta table mirrors the DynamoDB table; `append`: one row per change."
  type        = string
  default     = "upsert"
}

variable "tables_prefix" {
  description = "Folder of the bucket holding the Delta tables (`<prefix>/<DynamoDB table name>`)."
  type        = string
  default     = "cdc"
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its tables."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when the failure queue holds messages."
  type        = list(string)
  default     = []
}
