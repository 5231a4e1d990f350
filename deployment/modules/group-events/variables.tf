variable "name" {
  description = "Name of the function; also names its source queues (`<name>-events`, `<name>-events-dlq`), role and log group."
  type        = string
  default     = "group-events"
}

variable "package_path" {
  description = "The zip of `cargo lambda build --release --arm64 --output-format zip -p group-events` (`target/lambda/group-events/bootstrap.zip`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB. group-events holds one batch of events; it reads no objects."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 60
}

variable "fifo_queue_url" {
  description = "QUEUE_URL: URL of the SQS FIFO queue to send the regrouped events to (oxbow's source queue, `module.oxbow.queue_url`)."
  type        = string
}

variable "fifo_queue_arn" {
  description = "ARN of that FIFO queue: the role may send to it and read its attributes, nothing else."
  type        = string
}

variable "fifo_queue_kms_key_arn" {
  description = "The FIFO queue's customer managed KMS key, if any: the role gets kms:GenerateDataKey and kms:Decrypt on it."
  type        = string
  default     = null
}

variable "table_prefixes" {
  description = "TABLE_PREFIXES: `s3://bucket/prefix` table roots; objects outside them are not sent. Give oxbow the same. Empty: roots inferred from the path."
  type        = list(string)
  default     = []
}

variable "group_distribution" {
  description = "GROUP_DISTRIBUTION: spread each table over N message groups (1 to 1000). Null: the function's default (1)."
  type        = number
  default     = null
}

variable "max_message_bytes" {
  description = "MAX_MESSAGE_BYTES: largest message body sent (1,024 to 1,048,576). Null: the FIFO queue's own limit."
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

variable "batch_size" {
  description = "Source messages per invocation (up to 10,000): larger batches make fewer, fuller FIFO messages."
  type        = number
  default     = 1000
}

variable "batching_window_seconds" {
  description = "Seconds to gather a batch (0 to 300)."
  type        = number
  default     = 5
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the source queue drives (2 to 1000). Null: unlimited."
  type        = number
  default     = null
}

variable "max_receive_count" {
  description = "Receives before a failing source message moves to the DLQ."
  type        = number
  default     = 5
}

variable "s3_notification_bucket_arns" {
  description = "Buckets allowed to send event notifications to the source queue."
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
