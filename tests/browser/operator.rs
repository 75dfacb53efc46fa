//! Operator journeys: roles, staff returns, reports, statistics, stores as they are.

#[allow(unused_imports)]
use crate::harness::*;
