# The S3 (and bucket key) statements of a function's policy, for groups of
# table or source locations: object actions under each location, actions on
# the Delta logs below them, and ListBucket limited by `s3:prefix` to each
# location. Emits a policy document for `source_policy_documents`; creates
# nothing.

module "locations" {
  for_each  = { for i, g in var.grants : tostring(i) => g }
  source    = "../s3-locations"
  uris      = each.value.uris
  partition = var.partition
}

locals {
  statements = flatten([for i, g in var.grants : [
    for s in concat(
      # Every object under the locations.
      g.object_sid == null ? [] : [{
        sid       = g.object_sid
        actions   = g.object_actions
        resources = concat([for l in module.locations[tostring(i)].locations : l.objects_arn], g.extra_object_arns)
      }],
      # The Delta logs: `<uri>/_delta_log/*`, and with nested tables `<uri>/*/_delta_log/*`.
      [for s in [
        { sid = g.log_sid, actions = g.log_actions },
        { sid = g.log_cleanup ? "CleanUpExpiredLogs" : null, actions = ["s3:DeleteObject"] },
        ] : merge(s, {
          resources = flatten([for l in module.locations[tostring(i)].locations : g.nested_tables
            ? ["${l.key_arn}/_delta_log/*", "${l.key_arn}/*/_delta_log/*"]
            : ["${l.key_arn}/_delta_log/*"]
          ])
      }) if s.sid != null],
      # Listings, each limited to one location.
      [for j, l in module.locations[tostring(i)].locations : {
        sid       = g.single ? g.list_sid : "${g.list_sid}${j}"
        actions   = ["s3:ListBucket"]
        resources = [l.bucket_arn]
        prefix    = l.list_prefix
      }],
    ) : merge({ prefix = null }, s)
  ]])

  writes = anytrue([for g in var.grants : contains(concat(g.object_actions, g.log_actions), "s3:PutObject")])
}

data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = local.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.prefix == null ? [] : [statement.value.prefix]
        content {
          test     = "StringLike"
          variable = "s3:prefix"
          values   = [condition.value]
        }
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "BucketKeys"
      actions   = local.writes ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
      resources = var.kms_key_arns
    }
  }
}
