//! The table-backup Lambda: configuration and S3 client built once per container.

#[tokio::main]
async fn main() -> Result<(), meander_lambda::Error> {
    let config = meander_lambda::cold_start(table_backup::Config::from_env);
    let state = table_backup::TableBackup::new(config).await;
    meander_lambda::run(|event| {
        let deadline = Some(event.context.deadline());
        table_backup::handle(&state, event.payload, deadline)
    })
    .await
}
