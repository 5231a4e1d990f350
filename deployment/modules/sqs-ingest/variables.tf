variable "name" {
  description = "Name of the function; also names its queues (`<name>-records`, `<name>-records-dlq`), role and log group."
  type        = string
  default     = "sqs-ingest"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p sqs-ingest` (`target/lambda/sqs-ingest/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. Plan on about 10x the message bytes of a batch (with buffer-more, of `buffer_more_max_bytes`)."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 300
}

variable "table_uri" {
  description = "DELTA_TABLE_URI: the table, `s3://bucket/path`; created on first write. IAM is scoped to it."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.table_uri))
    error_message = "table_uri must be s3://bucket/path."
  }
}

variable "schema_evolution" {
  description = "SCHEMA_EVOLUTION: add new fields as nullable columns. Null: the function's default (true)."
  type        = bool
  default     = null
}

variable "partition_by" {
  description = "PARTITION_BY: partition columns of a table this function creates. Empty: unpartitioned."
  type        = list(string)
  default     = []
}

variable "timestamp_columns" {
  description = "TIMESTAMP_COLUMNS: field paths stored as timestamps (`ts`, `payload.at`). Empty: none."
  type        = list(string)
  default     = []
}

variable "buffer_more_messages" {
  description = "BUFFER_MORE_MESSAGES: after the event's messages, pull up to this many more from the source queue into the same commit (BUFFER_MORE_QUEUE_URL is set to it). 0: off."
  type        = number
  default     = 0
}

variable "buffer_more_max_bytes" {
  description = "BUFFER_MORE_MAX_BYTES: stop pulling at this many bytes of message bodies. Null: the function's default (32 MiB)."
  type        = number
  default     = null
}

variable "commit_max_attempts" {
  description = "COMMIT_MAX_ATTEMPTS: conflicting commits retried before the batch fails. Null: the function's default (100)."
  type        = number
  default     = null
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

variable "fifo" {
  description = "Make the source queue FIFO: exactly once per message (per-group sequence numbers recorded as Delta txns)."
  type        = bool
  default     = false
}

variable "batch_size" {
  description = "Messages per invocation: one commit each. Null: 10 on FIFO, 1000 on standard."
  type        = number
  default     = null
}

variable "batching_window_seconds" {
  description = "Standard queue only: seconds to gather a batch (fewer, larger files)."
  type        = number
  default     = 20
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations (2 to 1000); each commits to the same table, so a few keep conflicts rare. Null: unlimited."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Receives before a bad message moves to the DLQ (AWS suggests 2 to 5)."
  type        = number
  default     = 3
}

variable "message_retention_seconds" {
  description = "How long the source queue keeps a message; keep it at most the table's `delta.setTransactionRetentionDuration` (14 days on tables the function creates)."
  type        = number
  default     = 345600
}

variable "kms_key_arns" {
  description = "KMS keys of an SSE-KMS bucket: the role gets kms:Decrypt and kms:GenerateDataKey on them."
  type        = list(string)
  default     = []
}

variable "allow_log_cleanup" {
  description = "Grant s3:DeleteObject on the table's `_delta_log/*`, needed only if the table sets `delta.enableExpiredLogCleanup=true`."
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
