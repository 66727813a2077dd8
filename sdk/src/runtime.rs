//! The state the hand-written layer keeps inside the generated [`crate::Client`].

/// Per-client runtime state, held in the generated client's `inner` field.
#[derive(Clone, Debug, Default)]
pub struct Runtime {
    _private: (),
}
