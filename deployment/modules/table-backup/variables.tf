variable "name" {
  description = "Name of the function; also names its schedule, queues, role and log group."
  type        = string
  default     = "table-backup"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p table-backup` (`target/lambda/table-backup/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. Copies are server-side; memory holds table state and copy bookkeeping."
  type        = number
  default     = 512
}

variable "timeout" {
  description = "Timeout in seconds. A backup that runs out of time fails and the next run copies only the rest."
  type        = number
  default     = 900
}

variable "source_table_uris" {
  description = "SOURCE_TABLE_URIS: the `s3://bucket/prefix` roots of the tables to back up. IAM lets the function read only these."
  type        = list(string)

  validation {
    condition     = length(var.source_table_uris) > 0
    error_message = "source_table_uris needs at least one s3://bucket/prefix: IAM is scoped to them."
  }
}

variable "backup_uri" {
  description = "BACKUP_URI: backup root, `s3://bucket/prefix`, in another bucket than the tables. IAM lets the function write only below it."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.backup_uri))
    error_message = "backup_uri must be s3://bucket/prefix."
  }
}

variable "backup_every_versions" {
  description = "BACKUP_EVERY_VERSIONS: back up a table every N versions. Null: the function's default (1, every new version)."
  type        = number
  default     = null
}

variable "copy_concurrency" {
  description = "COPY_CONCURRENCY: copies in flight per table (1 to 512). Null: the function's default (32)."
  type        = number
  default     = null
}

variable "backup_storage_class" {
  description = "BACKUP_STORAGE_CLASS: STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR. Null: the bucket's default."
  type        = string
  default     = null

  validation {
    condition     = var.backup_storage_class == null || contains(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], coalesce(var.backup_storage_class, "STANDARD"))
    error_message = "backup_storage_class must be STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR."
  }
}

variable "schedule_expression" {
  description = "EventBridge schedule invoking the function (`rate(1 hour)`, `cron(0 3 * * ? *)`): every source table that is due is backed up. Null: no schedule."
  type        = string
  default     = "rate(1 hour)"
}

variable "async_maximum_retry_attempts" {
  description = "Retries (0 to 2) of a scheduled invocation that failed before its event goes to the async failure queue."
  type        = number
  default     = 2
}

variable "commit_trigger" {
  description = "Also back up on commits: create an SQS queue (with DLQ) for S3 notifications of the tables' commit files (`<table>/_delta_log/`, suffix `.json`)."
  type        = bool
  default     = false
}

variable "s3_notification_bucket_arns" {
  description = "With `commit_trigger`: buckets allowed to send event notifications to the commit queue."
  type        = list(string)
  default     = []
}

variable "batch_size" {
  description = "With `commit_trigger`: messages per invocation."
  type        = number
  default     = 100
}

variable "batching_window_seconds" {
  description = "With `commit_trigger`: seconds to gather a batch; only the newest due version per table is backed up."
  type        = number
  default     = 60
}

variable "maximum_concurrency" {
  description = "With `commit_trigger`: most concurrent invocations (2 to 1000)."
  type        = number
  default     = 2
}

variable "max_receive_count" {
  description = "With `commit_trigger`: receives before a failing message moves to the DLQ."
  type        = number
  default     = 5
}

variable "kms_key_arns" {
  description = "KMS keys of SSE-KMS source or backup buckets: the role gets kms:Decrypt and kms:GenerateDataKey on them."
  type        = list(string)
  default     = []
}

variable "rust_log" {
  description = "RUST_LOG directives; overrides `log_level`. Null: unset."
  type        = string
  default     = null
}

variable "log_format" {
  description = "`JSON` or `Text` logs."
  type        = string
  default     = "JSON"
}

variable "log_level" {
  description = "Log level with JSON logs (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)."
  type        = string
  default     = "INFO"
}

variable "log_retention_days" {
  description = "Days the log group keeps logs."
  type        = number
  default     = 30
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the async failure queue or the DLQ hold messages."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
