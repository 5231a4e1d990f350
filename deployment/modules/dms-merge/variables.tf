variable "name" {
  description = "Name of the function; also names its queues (`<name>-events`, `<name>-events-dlq`), role and log group."
  type        = string
  default     = "dms-merge"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p dms-merge` (`target/lambda/dms-merge/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. A commit holds its files' rows in memory (up to 100 files or 256 MB of files) and the MERGE reads the table's files that hold the changed keys."
  type        = number
  default     = 2048
}

variable "timeout" {
  description = "Timeout in seconds. A catch-up after a long pause applies many files, one commit per step."
  type        = number
  default     = 900
}

variable "table_uri" {
  description = "DELTA_TABLE_URI: where each source table's Delta table lives, `s3://bucket/prefix/{schema}/{table}` (`{table}` required). IAM is scoped to it with the placeholders as `*`."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.*\\{table\\}", var.table_uri))
    error_message = "table_uri must be s3://bucket/prefix with {table} in the prefix."
  }
}

variable "key_columns" {
  description = "KEY_COLUMNS: the primary-key columns of every source table, by `schema.table`, e.g. `{ \"public.orders\" = [\"id\"], \"public.lines\" = [\"order_id\", \"line_no\"] }`."
  type        = map(list(string))

  validation {
    condition     = length(var.key_columns) > 0 && alltrue([for t, cols in var.key_columns : length(cols) > 0 && length(split(".", t)) == 2])
    error_message = "key_columns needs at least one `schema.table` with at least one column."
  }
}

variable "dms_locations" {
  description = "Where the DMS S3 target endpoint writes, `s3://bucket/<BucketFolder>`: the function reads and lists only there (IAM)."
  type        = list(string)

  validation {
    condition     = length(var.dms_locations) > 0
    error_message = "dms_locations needs at least one s3://bucket/prefix: IAM is scoped to them."
  }
}

variable "timestamp_column" {
  description = "TIMESTAMP_COLUMN: the endpoint's `TimestampColumnName`. Null: unset (changes to one key ordered by file, then row)."
  type        = string
  default     = null
}

variable "csv_header" {
  description = "CSV_HEADER: the endpoint's `AddColumnName`. Null: the function's default (false)."
  type        = bool
  default     = null
}

variable "csv_delimiter" {
  description = "CSV_DELIMITER: the endpoint's `CsvDelimiter` (one character, or `tab`). Null: `,`."
  type        = string
  default     = null
}

variable "csv_null_value" {
  description = "CSV_NULL_VALUE: the endpoint's `CsvNullValue`. Null: an empty field is NULL."
  type        = string
  default     = null
}

variable "table_definition" {
  description = "TABLE_DEFINITION: a DMS table-definition document naming and typing the columns of headerless CSV files, inline JSON or `s3://bucket/key` (the role may then read that object). Null: unset."
  type        = string
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

variable "batch_size" {
  description = "Messages per invocation: a table's notified files are caught up together, its CDC files in one MERGE."
  type        = number
  default     = 100
}

variable "batching_window_seconds" {
  description = "Seconds to gather a batch; DMS flushes CDC files every CdcMaxBatchInterval (60 s by default)."
  type        = number
  default     = 20
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations (2 to 1000). Invocations on one table conflict and retry; a low number keeps MERGEs from redoing work. Null: unlimited."
  type        = number
  default     = 2
}

variable "max_receive_count" {
  description = "Receives before a failing message moves to the DLQ. A missing LOAD file is waited for this many times."
  type        = number
  default     = 10
}

variable "s3_notification_bucket_arns" {
  description = "Buckets allowed to send event notifications to the source queue (the DMS target bucket)."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "KMS keys of SSE-KMS buckets (DMS target, tables): the role gets kms:Decrypt and kms:GenerateDataKey on them."
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
