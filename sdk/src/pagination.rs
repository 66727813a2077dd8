//! Pagination streams over the list operations.
