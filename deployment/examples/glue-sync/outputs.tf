output "bucket" {
  description = "The lake bucket: write Parquet files under `<tables_prefix>/<table>/`."
  value       = module.lake.bucket
}

output "glue_database" {
  description = "The Glue database the tables appear in (Athena: `SELECT * FROM <database>.<table>`)."
  value       = var.glue_database
}

output "function_names" {
  description = "The functions."
  value = {
    oxbow     = module.oxbow.function_name
    glue_sync = module.glue_sync.function_name
  }
}

output "dlq_urls" {
  description = "The DLQs (`meander dlq inspect <url>`)."
  value = {
    oxbow     = module.oxbow.dlq_url
    glue_sync = module.glue_sync.dlq_url
  }
}
