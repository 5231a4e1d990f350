variable "name" {
  description = "Name of the function; also names its queues (`<name>-events`, `<name>-events-dlq`), role and log group."
  type        = string
  default     = "oxbow"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p oxbow` (`target/lambda/oxbow/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. oxbow reads Parquet footers only; table state of warm containers is the main use."
  type        = number
  default     = 512
}

variable "timeout" {
  description = "Timeout in seconds. Leaves room for commit retries (backoff up to 2 s, COMMIT_MAX_ATTEMPTS times)."
  type        = number
  default     = 300
}

variable "table_prefixes" {
  description = "Locations oxbow may touch, as `s3://bucket/prefix`. By default these are the table roots (TABLE_PREFIXES): an object belongs to the longest one containing it and objects elsewhere are ignored. IAM is scoped to them."
  type        = list(string)

  validation {
    condition     = length(var.table_prefixes) > 0
    error_message = "table_prefixes needs at least one s3://bucket/prefix: IAM is scoped to them."
  }
}

variable "infer_table_roots" {
  description = "Leave TABLE_PREFIXES unset and infer each table's root from the object path (cut at the first `k=v` segment); `table_prefixes` then only bound what IAM allows (commits under `<prefix>/**/_delta_log/`)."
  type        = bool
  default     = false
}

variable "schema_evolution" {
  description = "SCHEMA_EVOLUTION: add new columns as nullable. Null: the function's default (true)."
  type        = bool
  default     = null
}

variable "commit_max_attempts" {
  description = "COMMIT_MAX_ATTEMPTS: conflicting commits retried before the table's messages fail. Null: the function's default (100)."
  type        = number
  default     = null
}

variable "rust_log" {
  description = "RUST_LOG directives (e.g. `info,meander=debug`); overrides `log_level`. Null: unset."
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

variable "fifo_source" {
  description = "Make the source queue FIFO, to be fed by group-events (one message group per table). S3 cannot notify a FIFO queue."
  type        = bool
  default     = false
}

variable "batch_size" {
  description = "Messages per invocation. Null: 10 on a FIFO queue, 100 on a standard queue."
  type        = number
  default     = null
}

variable "batching_window_seconds" {
  description = "Standard queue only: seconds to gather a batch; more files per commit, fewer commits."
  type        = number
  default     = 10
}

variable "maximum_concurrency" {
  description = "Most concurrent oxbows the queue drives (2 to 1000); each table's commits conflict less with fewer. Null: unlimited. FIFO queues are bounded by their message groups already."
  type        = number
  default     = null
}

variable "max_receive_count" {
  description = "Receives before a failing message moves to the DLQ."
  type        = number
  default     = 5
}

variable "s3_notification_bucket_arns" {
  description = "Buckets allowed to send event notifications to the source queue (standard queue only)."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "KMS keys of SSE-KMS buckets under `table_prefixes`: the role gets kms:Decrypt and kms:GenerateDataKey on them."
  type        = list(string)
  default     = []
}

variable "allow_log_cleanup" {
  description = "Grant s3:DeleteObject on `_delta_log/*`, needed only by tables that set `delta.enableExpiredLogCleanup=true`."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the DLQ holds messages."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
