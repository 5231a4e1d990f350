//! The dms-merge Lambda: configuration and table state built once per container.

#[tokio::main]
async fn main() -> Result<(), meander_lambda::Error> {
    let dms = meander_lambda::cold_start(dms_merge::DmsMerge::from_env);
    meander_lambda::run(|event| dms_merge::handle(&dms, event.payload)).await
}
