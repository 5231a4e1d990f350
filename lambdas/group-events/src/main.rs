//! The group-events Lambda: configuration, SQS client and the FIFO queue's
//! limits read once per container.

fn main() -> Result<(), meander_lambda::Error> {
    let runtime = tokio::runtime::Runtime::new()?;
    // The cold start checks the queue (an async call), so it runs on the
    // runtime; a bad QUEUE_URL fails it with a message naming the key.
    let state = meander_lambda::cold_start(|env| {
        runtime.block_on(group_events::GroupEvents::from_env(env))
    });
    runtime.block_on(meander_lambda::run(|event| {
        group_events::handle(&state, event.payload)
    }))
}
