# A private bucket for Delta tables or backups, as the examples use it:
# public access blocked, objects owned by the bucket owner, versioned with
# old versions expiring, incomplete multipart uploads aborted, SSE-S3.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs need a separate logging bucket; production lakes log to their own, the example keeps to one bucket.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the lake, not of the functions (table-backup copies tables consistently instead).
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts every object; with SSE-KMS each function also needs the key (their kms_key_arns variable).
  #checkov:skip=CKV2_AWS_62:Event notifications are configured by the examples (aws_s3_bucket_notification), one per bucket as S3 allows.
  bucket_prefix = var.bucket_prefix
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}
