variable "uris" {
  description = "Locations as `s3://bucket` or `s3://bucket/prefix` (a trailing `/` is ignored; `*` in the prefix matches any characters, as in IAM)."
  type        = list(string)

  validation {
    condition     = alltrue([for u in var.uris : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", u))])
    error_message = "Every location must be s3://bucket or s3://bucket/prefix."
  }
}

variable "partition" {
  description = "AWS partition of the ARNs (`aws`, `aws-cn`, `aws-us-gov`)."
  type        = string
  default     = "aws"
}
