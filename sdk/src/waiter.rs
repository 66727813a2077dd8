//! Waiters: poll a peering connection or container until it reaches a wanted state.
