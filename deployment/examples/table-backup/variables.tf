variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every name (function, schedule, queue, buckets)."
  type        = string
  default     = "meander-backup"
}

variable "lambda_dir" {
  description = "Folder holding cargo lambda's zips (`<fn>/bootstrap.zip`). Null: `target/lambda` of this repository; set it when CARGO_TARGET_DIR is elsewhere."
  type        = string
  default     = null
}

variable "lake_bucket" {
  description = "Existing bucket holding the tables. Null: create one (`<name>-lake-...`)."
  type        = string
  default     = null
}

variable "table_paths" {
  description = "Paths of the Delta tables to back up, in the lake bucket."
  type        = list(string)
  default     = ["tables/orders"]
}

variable "schedule_expression" {
  description = "How often the due tables are backed up."
  type        = string
  default     = "rate(1 hour)"
}

variable "backup_every_versions" {
  description = "Back up a table every N versions."
  type        = number
  default     = 1
}

variable "backup_storage_class" {
  description = "Storage class of the copies."
  type        = string
  default     = "STANDARD_IA"
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets this example created, with their objects."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when a backup failed every retry."
  type        = list(string)
  default     = []
}
