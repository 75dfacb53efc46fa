//! Renter journeys: reminders, the one-scan return, support, English, the offline shell, accessibility.

#[allow(unused_imports)]
use crate::harness::*;
