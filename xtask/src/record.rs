//! `cargo xtask record`: records real exchanges into new fixtures.

/// Runs the command with the arguments after `record`.
pub fn run(_args: &[String]) -> Result<(), Vec<String>> {
    Err(vec!["`cargo xtask record` is being written".to_owned()])
}
