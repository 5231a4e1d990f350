variable "function_name" {
  description = "Name of the Lambda function; also names its role (`<name>-role`) and log group (`/aws/lambda/<name>`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.function_name))
    error_message = "function_name: 1 to 56 letters, digits, '-' or '_' (the role name adds '-role' within IAM's 64 characters)."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "package_path" {
  description = "Path of the zip built by `cargo lambda build --release --arm64 --output-format zip` (holds the `bootstrap` binary)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB (128 to 10240); CPU grows with it."
  type        = number

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds (1 to 900)."
  type        = number

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "environment" {
  description = "Environment variables of the function. Entries whose value is null are left out, so callers can pass optional settings as `key = var.x`."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "IAM policy document (JSON) with the function's own permissions, attached to its role as an inline policy. Logging permissions are added by this module."
  type        = string
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function; -1 leaves it unreserved (bounded by the event source mapping instead)."
  type        = number
  default     = -1
}

variable "log_retention_days" {
  description = "Days the function's log group keeps logs."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "KMS key to encrypt the log group with (its key policy must allow CloudWatch Logs). Null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "log_format" {
  description = "`JSON` (structured logs; Lambda then sets AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL for the function) or `Text`."
  type        = string
  default     = "JSON"

  validation {
    condition     = contains(["JSON", "Text"], var.log_format)
    error_message = "log_format must be JSON or Text."
  }
}

variable "log_level" {
  description = "Application log level with `log_format = \"JSON\"`: TRACE, DEBUG, INFO, WARN, ERROR or FATAL. With `Text`, set RUST_LOG through `environment` instead."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  }
}

variable "environment_kms_key_arn" {
  description = "KMS key to encrypt the environment variables with. Null: Lambda's AWS managed key (they hold URIs and names, no secrets)."
  type        = string
  default     = null
}

variable "async_failure_queue" {
  description = "Create an SQS queue (with a depth alarm) for the events of asynchronous invocations, e.g. EventBridge schedules, that failed every attempt. Leave false for functions invoked only by event source mappings: their failures stay on the source queue (and move to its DLQ) or go to the stream's on-failure destination, so a function-level DLQ would never receive anything."
  type        = bool
  default     = false
}

variable "async_maximum_retry_attempts" {
  description = "Retries of a failed asynchronous invocation (0 to 2) before its event goes to the async failure queue."
  type        = number
  default     = 2

  validation {
    condition     = var.async_maximum_retry_attempts >= 0 && var.async_maximum_retry_attempts <= 2
    error_message = "async_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the async failure queue holds messages."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
