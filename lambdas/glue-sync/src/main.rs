//! The glue-sync Lambda: configuration and the Glue client built once per
//! container.

fn main() -> Result<(), meander_lambda::Error> {
    let runtime = tokio::runtime::Runtime::new()?;
    // Building the Glue client loads the SDK configuration (async), so the
    // cold start runs on the runtime; a bad key fails it, naming the key.
    let state =
        meander_lambda::cold_start(|env| runtime.block_on(glue_sync::GlueSync::from_env(env)));
    runtime.block_on(meander_lambda::run(|event| {
        glue_sync::handle(&state, event.payload)
    }))
}
