variable "bucket_prefix" {
  description = "Prefix of the bucket's name; AWS appends a unique suffix."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects (tables, backups)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a deleted or overwritten object's old version is kept (Delta files are never overwritten; VACUUM deletes)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
