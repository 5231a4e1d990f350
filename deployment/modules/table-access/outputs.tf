output "json" {
  description = "The policy document (JSON) of the statements, for the function's `source_policy_documents`."
  value       = data.aws_iam_policy_document.this.json
}
