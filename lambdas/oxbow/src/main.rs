//! The oxbow Lambda: configuration and tables built once per container.

#[tokio::main]
async fn main() -> Result<(), meander_lambda::Error> {
    let oxbow = meander_lambda::cold_start(oxbow::Oxbow::from_env);
    meander_lambda::run(|event| oxbow::handle(&oxbow, event.payload)).await
}
