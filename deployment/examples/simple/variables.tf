variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every name (function, queues, bucket)."
  type        = string
  default     = "meander-simple"
}

variable "lambda_dir" {
  description = "Folder holding cargo lambda's zips (`<fn>/bootstrap.zip`). Null: `target/lambda` of this repository; set it when CARGO_TARGET_DIR is elsewhere."
  type        = string
  default     = null
}

variable "tables_prefix" {
  description = "Folder of the bucket under which Parquet files become tables (`<prefix>/<table>/[k=v/...]file.parquet`)."
  type        = string
  default     = "tables"
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its tables."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when the DLQ holds messages."
  type        = list(string)
  default     = []
}
