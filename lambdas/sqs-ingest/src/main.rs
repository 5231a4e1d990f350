//! The sqs-ingest Lambda: configuration, client and table built once per container.

#[tokio::main]
async fn main() -> Result<(), meander_lambda::Error> {
    let config = meander_lambda::cold_start(sqs_ingest::Config::from_env);
    let state = sqs_ingest::SqsIngest::new(config).await;
    meander_lambda::run(|event| {
        let deadline = Some(event.context.deadline());
        sqs_ingest::handle(&state, event.payload, deadline)
    })
    .await
}
