variable "name" {
  description = "Name of the function; also names its queues (`<name>-commits`, `<name>-commits-dlq`), role and log group."
  type        = string
  default     = "glue-sync"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p glue-sync` (`target/lambda/glue-sync/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. glue-sync reads only the Delta log (protocol, metadata, schema)."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 120
}

variable "table_prefixes" {
  description = "`s3://bucket/prefix` locations holding the Delta tables whose commits are synced: IAM lets the function read `_delta_log/` of tables at or below them, nothing else in S3. (glue-sync itself has no prefix setting; filter the bucket notification to the same prefixes.)"
  type        = list(string)

  validation {
    condition     = length(var.table_prefixes) > 0
    error_message = "table_prefixes needs at least one s3://bucket/prefix: IAM is scoped to them."
  }
}

variable "glue_database" {
  description = "GLUE_DATABASE: the Glue database of every table (lowercase letters, digits, `_`); with `glue_path_regex`, the database for a regex without a `database` group. Null: set `glue_path_regex` with a `database` group."
  type        = string
  default     = null
}

variable "glue_path_regex" {
  description = "GLUE_PATH_REGEX: regex on the commit key whose named groups `database` and `table` name the Glue table. Null: GLUE_DATABASE naming."
  type        = string
  default     = null
}

variable "glue_databases" {
  description = "Glue databases the function may create and write tables in. Empty: just `glue_database`. List every database `glue_path_regex` can name: IAM allows only these."
  type        = list(string)
  default     = []
}

variable "glue_catalog_id" {
  description = "GLUE_CATALOG_ID: the Glue catalog (account id) to write to. Null: the deploying account."
  type        = string
  default     = null
}

variable "allow_create_database" {
  description = "Grant glue:CreateDatabase, so missing databases are created. False when the databases exist already."
  type        = bool
  default     = true
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

variable "batch_size" {
  description = "Messages per invocation; only the newest commit per table in a batch is synced."
  type        = number
  default     = 100
}

variable "batching_window_seconds" {
  description = "Seconds to gather a batch (0 to 300)."
  type        = number
  default     = 10
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations (2 to 1000). Null: unlimited."
  type        = number
  default     = null
}

variable "max_receive_count" {
  description = "Receives before a failing message moves to the DLQ."
  type        = number
  default     = 5
}

variable "s3_notification_bucket_arns" {
  description = "Buckets allowed to send event notifications to the source queue."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "KMS keys of SSE-KMS buckets: the role gets kms:Decrypt on them."
  type        = list(string)
  default     = []
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
