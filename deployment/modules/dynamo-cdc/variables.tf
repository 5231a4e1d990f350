variable "name" {
  description = "Name of the function; also names its failure queue (`<name>-failures`), role and log group."
  type        = string
  default     = "dynamo-cdc"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p dynamo-cdc` (`target/lambda/dynamo-cdc/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. Upsert mode runs a MERGE (DataFusion); append mode needs less."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 300
}

variable "stream_arns" {
  description = "DynamoDB stream ARNs to read, keyed by a name of your choice (the keys must be known at plan time; the ARNs need not be): one event source mapping each. Use NEW_AND_OLD_IMAGES or NEW_IMAGE streams for upsert mode."
  type        = map(string)

  validation {
    condition     = length(var.stream_arns) > 0
    error_message = "stream_arns needs at least one stream."
  }
}

variable "table_uri" {
  description = "DELTA_TABLE_URI: `s3://bucket/prefix` of the Delta table; `{table}` in it is replaced by the DynamoDB table name of each record, so one function serves many tables. IAM is scoped to it (`{table}` as `*`)."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.table_uri))
    error_message = "table_uri must be s3://bucket/prefix."
  }
}

variable "mode" {
  description = "MODE: `append` (changelog) or `upsert` (live mirror). Null: the function's default (append)."
  type        = string
  default     = null

  validation {
    condition     = var.mode == null || contains(["append", "upsert"], coalesce(var.mode, "append"))
    error_message = "mode must be append or upsert."
  }
}

variable "partition_by" {
  description = "PARTITION_BY: attributes (or `_op`) to partition a new table by. Empty: none."
  type        = list(string)
  default     = []
}

variable "timestamp_columns" {
  description = "TIMESTAMP_COLUMNS: top-level attributes stored as timestamps. Empty: none."
  type        = list(string)
  default     = []
}

variable "nested" {
  description = "NESTED: `json` (maps and lists as JSON strings) or `native` (structs and arrays). Null: the function's default (json)."
  type        = string
  default     = null

  validation {
    condition     = var.nested == null || contains(["json", "native"], coalesce(var.nested, "json"))
    error_message = "nested must be json or native."
  }
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

variable "starting_position" {
  description = "Where a new mapping starts reading: `TRIM_HORIZON` (the oldest record kept, up to 24 h back) or `LATEST`."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "batch_size" {
  description = "Records per invocation (1 to 10,000; the 6 MB payload cap applies)."
  type        = number
  default     = 1000

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  description = "Seconds to gather a batch (0 to 300): fewer, larger commits."
  type        = number
  default     = 5
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1 to 10). Records of one item stay in order either way."
  type        = number
  default     = 1
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch (0 to 10000) before its records go to the failure queue instead of blocking the shard."
  type        = number
  default     = 10
}

variable "maximum_record_age_seconds" {
  description = "Records older than this go to the failure queue unprocessed (60 to 604800, or -1 for no limit)."
  type        = number
  default     = -1
}

variable "kms_key_arns" {
  description = "KMS keys of an SSE-KMS bucket: the role gets kms:Decrypt and kms:GenerateDataKey on them."
  type        = list(string)
  default     = []
}

variable "allow_log_cleanup" {
  description = "Grant s3:DeleteObject on the tables' `_delta_log/*`, needed only by tables that set `delta.enableExpiredLogCleanup=true`."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the failure queue holds messages."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
