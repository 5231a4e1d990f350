variable "name" {
  description = "Queue name, without the `.fifo` suffix (added when `fifo` is true)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,75}$", var.name))
    error_message = "name: 1 to 75 letters, digits, '-' or '_'."
  }
}

variable "fifo" {
  description = "Create a FIFO queue (the DLQ of a FIFO queue must be FIFO)."
  type        = bool
  default     = false
}

variable "source_queue_arns" {
  description = "Queues that may use this queue as their dead-letter queue (redrive allow policy `byQueue`; `meander dlq replay` moves messages back to the only one named). Empty: `denyAll`, for failure destinations that are no queue's DLQ (stream on-failure destination, async invocation failures)."
  type        = list(string)
  default     = []
}

variable "message_retention_seconds" {
  description = "How long failed messages are kept (60 to 1209600 s). Keep it longer than the source queue's retention: a message's age counts from its first enqueue."
  type        = number
  default     = 1209600
}

variable "kms_master_key_id" {
  description = "KMS key for server-side encryption. Null: SQS managed keys (SSE-SQS)."
  type        = string
  default     = null
}

variable "alarm_description" {
  description = "Description of the queue-depth alarm."
  type        = string
  default     = "Messages failed and were moved here: inspect with `meander dlq inspect`, fix, then `meander dlq replay`."
}

variable "alarm_threshold" {
  description = "The alarm fires when more than this many messages are visible."
  type        = number
  default     = 0
}

variable "alarm_period" {
  description = "Seconds over which the queue depth is evaluated (SQS publishes it every minute)."
  type        = number
  default     = 60
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the alarm fires."
  type        = list(string)
  default     = []
}

variable "ok_actions" {
  description = "ARNs notified when the queue is empty again."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the queue and the alarm."
  type        = map(string)
  default     = {}
}
