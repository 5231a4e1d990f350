variable "name" {
  description = "Name of the source queue (without `.fifo`); its DLQ is `<name>-dlq`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,71}$", var.name))
    error_message = "name: 1 to 71 letters, digits, '-' or '_' (the DLQ adds '-dlq', FIFO queues '.fifo')."
  }
}

variable "fifo" {
  description = "Create FIFO queues (source and DLQ). The event source mapping then takes at most 10 messages and no batching window."
  type        = bool
  default     = false
}

variable "fifo_high_throughput" {
  description = "FIFO only: deduplicate and throttle per message group (high throughput mode) instead of per queue."
  type        = bool
  default     = true
}

variable "function_name" {
  description = "Name or ARN of the function the queue triggers."
  type        = string
}

variable "role_name" {
  description = "Name of the function's execution role: receives ReceiveMessage, DeleteMessage and GetQueueAttributes on the source queue."
  type        = string
}

variable "function_timeout" {
  description = "Timeout of the function in seconds; the visibility timeout defaults to 6 times it, as AWS recommends."
  type        = number
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the source queue. Null: 6 x function_timeout (at most 12 hours)."
  type        = number
  default     = null
}

variable "message_retention_seconds" {
  description = "How long the source queue keeps a message (60 to 1209600 s)."
  type        = number
  default     = 345600
}

variable "max_receive_count" {
  description = "Receives after which a message that keeps failing moves to the DLQ."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps failed messages."
  type        = number
  default     = 1209600
}

variable "batch_size" {
  description = "Most messages per invocation: up to 10 on FIFO queues, 10,000 on standard queues (above 10 needs a batching window)."
  type        = number
  default     = 10
}

variable "batching_window_seconds" {
  description = "Standard queues: seconds to gather a batch before invoking (0 to 300). Ignored for FIFO queues."
  type        = number
  default     = 0

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300
    error_message = "batching_window_seconds must be between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the queue drives (2 to 1000). Null: no limit besides the account's."
  type        = number
  default     = null
}

variable "enabled" {
  description = "Whether the event source mapping polls the queue."
  type        = bool
  default     = true
}

variable "kms_master_key_id" {
  description = "KMS key for both queues. Null: SQS managed encryption (SSE-SQS). With a key, the role gets kms:Decrypt on it, and producers need kms:GenerateDataKey."
  type        = string
  default     = null
}

variable "s3_notification_bucket_arns" {
  description = "Buckets allowed to send S3 event notifications to the source queue (queue policy for s3.amazonaws.com, conditioned on the bucket ARN and this account). S3 cannot notify FIFO queues."
  type        = list(string)
  default     = []
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the DLQ holds messages."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the queues and the alarm."
  type        = map(string)
  default     = {}
}
