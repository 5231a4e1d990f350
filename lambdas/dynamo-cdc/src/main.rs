//! The dynamo-cdc Lambda: configuration and table state built once per container.

#[tokio::main]
async fn main() -> Result<(), meander_lambda::Error> {
    let cdc = meander_lambda::cold_start(dynamo_cdc::DynamoCdc::from_env);
    meander_lambda::run(|event| dynamo_cdc::handle(&cdc, event.payload)).await
}
