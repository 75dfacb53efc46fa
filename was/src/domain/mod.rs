//! Domain types and rules that do not need the database: values parsed once at the edge
//! (an invalid one cannot exist past it), the locker codes, the signed QR codes and
//! their printable sheet, business hours, and the encryption of bank accounts.

pub mod bank;
pub mod codes;
pub mod deposit;
pub mod hours;
pub mod locker;
pub mod password;
pub mod role;
pub mod sheet;
pub mod values;
