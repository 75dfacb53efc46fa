//! SQL shared by more than one resource. Queries used by one handler only live beside it.

pub mod stores;
pub mod users;
