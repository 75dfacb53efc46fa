//! Moving a deposit: lock the rental, ask the state machine (`domain::deposit`) whether
//! the operation applies, write the new state and its ledger entry, all in the caller's
//! transaction. Every path that changes a deposit (the renter's return, an operator's
//! button, closing a rental, finding a lost umbrella) goes through [`apply`], so none
//! can skip a precondition or leave the ledger behind.

use sqlx::PgConnection;

use crate::domain::deposit::{self, Operation, Standing};
use crate::error::{Error, Result};
use crate::repo::rentals::{self, Actor, LockedDeposit, Transition};

/// What an applied operation found and left.
pub struct Applied {
    pub before: LockedDeposit,
    pub after: Standing,
}

/// Applies `op` to rental `id` as `actor`: 404 without the rental, 409 with the
/// machine's reason when it does not apply.
pub async fn apply(
    tx: &mut PgConnection,
    id: i64,
    op: Operation,
    actor: Actor,
    note: Option<&str>,
) -> Result<Applied> {
    let before = rentals::lock_deposit(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    let after = deposit::apply(before.standing, op)?;
    if op == Operation::Refund && !before.has_account {
        return Err(Error::conflict(
            "no_refund_account",
            "환급 계좌가 없습니다. 대여자가 계좌를 입력하면 환급할 수 있습니다. (No refund account yet: the renter has to enter one.)",
        ));
    }
    rentals::record_transition(
        tx,
        &Transition {
            id,
            op,
            from: before.standing,
            to: after,
            amount: before.amount,
            actor,
            note,
        },
    )
    .await?;
    Ok(Applied { before, after })
}
