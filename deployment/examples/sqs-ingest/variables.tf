variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every name (function, queues, bucket)."
  type        = string
  default     = "meander-ingest"
}

variable "lambda_dir" {
  description = "Folder holding cargo lambda's zips (`<fn>/bootstrap.zip`). Null: `target/lambda` of this repository; set it when CARGO_TARGET_DIR is elsewhere."
  type        = string
  default     = null
}

variable "table_path" {
  description = "Path of the Delta table in the bucket."
  type        = string
  default     = "tables/events"
}

variable "partition_by" {
  description = "Partition columns of the new table (fields of the records)."
  type        = list(string)
  default     = []
}

variable "timestamp_columns" {
  description = "Fields stored as timestamps (ISO-8601 strings or epoch numbers)."
  type        = list(string)
  default     = ["ts"]
}

variable "fifo" {
  description = "Use a FIFO queue: exactly once per message."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its table."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when the DLQ holds messages."
  type        = list(string)
  default     = []
}
