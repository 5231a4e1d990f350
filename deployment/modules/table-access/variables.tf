variable "grants" {
  description = <<-EOT
    Groups of `s3://bucket/prefix` locations (as in ../s3-locations) and what the role may do under them, in statement order. Per group: `uris`; `object_sid` and `object_actions`, one statement on every object under the locations (plus `extra_object_arns`); `log_sid` and `log_actions`, one statement on their `_delta_log/*` objects; `log_cleanup`, s3:DeleteObject on those (Sid `CleanUpExpiredLogs`, for `delta.enableExpiredLogCleanup=true`); `nested_tables`, the log statements cover tables below each location too (`<uri>/*/_delta_log/*`); `list_sid`, one s3:ListBucket statement per location limited by `s3:prefix` to it, Sid `<list_sid><index>`, or `list_sid` itself with `single` (exactly one location).
  EOT
  type = list(object({
    uris              = list(string)
    object_sid        = optional(string)
    object_actions    = optional(list(string), [])
    extra_object_arns = optional(list(string), [])
    log_sid           = optional(string)
    log_actions       = optional(list(string), [])
    log_cleanup       = optional(bool, false)
    nested_tables     = optional(bool, false)
    list_sid          = string
    single            = optional(bool, false)
  }))

  validation {
    condition     = length(var.grants) > 0 && alltrue([for g in var.grants : length(g.uris) > 0 && (!g.single || length(g.uris) == 1)])
    error_message = "Every grant needs at least one location, and a `single` grant exactly one."
  }

  # Object-level S3 actions only, each named: no wildcards, no bucket or account actions.
  validation {
    condition = alltrue(flatten([for g in var.grants : [
      for a in concat(g.object_actions, g.log_actions) : contains(["s3:GetObject", "s3:GetObjectTagging", "s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"], a)
    ]]))
    error_message = "object_actions and log_actions may only name s3:GetObject, s3:GetObjectTagging, s3:PutObject, s3:PutObjectTagging and s3:AbortMultipartUpload (deletes: log_cleanup)."
  }

  validation {
    condition     = alltrue([for g in var.grants : (g.object_sid == null) == (length(g.object_actions) == 0) && (g.log_sid == null) == (length(g.log_actions) == 0)])
    error_message = "object_sid goes with object_actions, log_sid with log_actions."
  }
}

variable "kms_key_arns" {
  description = "KMS keys of SSE-KMS buckets under the locations: statement `BucketKeys` with kms:Decrypt, and kms:GenerateDataKey if any grant includes s3:PutObject."
  type        = list(string)
  default     = []
}

variable "partition" {
  description = "AWS partition of the ARNs (`aws`, `aws-cn`, `aws-us-gov`)."
  type        = string
  default     = "aws"
}
