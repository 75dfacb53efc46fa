//! The deposit's state machine.
//!
//! A renter pays the deposit by bank transfer and gets it back after returning the
//! umbrella; operators confirm both by hand. Every change of a deposit is one named
//! [`Operation`] whose preconditions live here, in one pure function, so the API, the
//! console's buttons (which ask [`operator_operations`]), the work queues and the renter's
//! page cannot disagree about what a deposit may do next. The schema stores the state
//! (`rentals.deposit_state`) and the ledger of transitions (`deposit_events`).
//!
//! ```text
//!                  confirm_payment          return              refund
//! awaiting_payment ───────────────▶ paid ──────────▶ refund_due ────────▶ refunded
//!        │  (returned: straight to refund_due;       │    ▲  │
//!        │   lost: straight to forfeited)    lose    │    │  └─ refund_failed ─▶ refund_failed
//!        └─ waive ─▶ waived              paid ──────▶ forfeited (lost) ── find ─┘   │
//!                                   refund_due ─ forfeit_damaged ─▶ forfeited      │
//!                                                    new_account (renter) ◀─────────┘
//! ```

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    AwaitingPayment,
    Paid,
    RefundDue,
    Refunded,
    Forfeited,
    RefundFailed,
    Waived,
}

/// Where the umbrella of the rental is, as far as the deposit cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// With the renter.
    Open,
    /// Back at a store (returned by the renter, taken back by staff, or found).
    Returned,
    /// Closed as lost and not found since.
    Lost,
}

/// Why a deposit is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForfeitReason {
    Lost,
    Damaged,
}

/// Every way a deposit changes. The first four follow from what happens to the
/// umbrella; the rest are an operator's (or, `NewAccount`, the renter's) decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// The umbrella came back (the renter's return, or staff took it back).
    Return,
    /// The rental was closed as lost.
    Lose,
    /// A lost umbrella turned up at a store.
    Find,
    /// The transfer arrived.
    ConfirmPayment,
    /// The deposit was sent back.
    Refund,
    /// The bank rejected the refund account.
    RefundFailed,
    /// The renter gave a (new) refund account.
    NewAccount,
    /// The umbrella came back broken: the deposit is kept, per the terms.
    ForfeitDamaged,
    /// The deposit will not be collected.
    Waive,
}

/// The operations an operator chooses from in the console.
pub const OPERATOR_OPERATIONS: [Operation; 5] = [
    Operation::ConfirmPayment,
    Operation::Refund,
    Operation::RefundFailed,
    Operation::ForfeitDamaged,
    Operation::Waive,
];

/// Where a deposit and its rental stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Standing {
    pub state: State,
    pub phase: Phase,
    /// Set exactly when `state` is `Forfeited`.
    pub forfeit: Option<ForfeitReason>,
}

/// Why an operation does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AlreadyPaid,
    NotAwaitingPayment,
    NotRefundDue,
    StillOpen,
    NotOpen,
    NotLost,
    NoAccountNeeded,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::AlreadyPaid => "deposit_already_paid",
            Self::NotAwaitingPayment => "deposit_not_awaiting_payment",
            Self::NotRefundDue => "deposit_not_refund_due",
            Self::StillOpen => "rental_still_open",
            Self::NotOpen => "rental_not_open",
            Self::NotLost => "rental_not_lost",
            Self::NoAccountNeeded => "refund_account_not_needed",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::AlreadyPaid => {
                "이미 입금이 확인된 보증금입니다. (The deposit was already received.)"
            }
            Self::NotAwaitingPayment => {
                "입금 대기 중인 보증금이 아닙니다. (The deposit is not awaiting payment.)"
            }
            Self::NotRefundDue => "환급할 차례의 보증금이 아닙니다. (No refund is due.)",
            Self::StillOpen => "아직 반납되지 않은 대여입니다. (The umbrella is still out.)",
            Self::NotOpen => "이미 반납되었거나 종료된 대여입니다. (The rental is closed.)",
            Self::NotLost => "분실로 종료된 대여가 아닙니다. (The rental was not closed as lost.)",
            Self::NoAccountNeeded => {
                "지금은 환급 계좌가 필요하지 않습니다. (No refund account is needed now.)"
            }
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::conflict(r.code(), r.message())
    }
}

/// What `op` makes of a deposit standing as `now`, or why it cannot apply.
pub fn apply(now: Standing, op: Operation) -> Result<Standing, Refusal> {
    use Operation as Op;
    use Phase::{Lost, Open, Returned};
    use State::{AwaitingPayment, Forfeited, Paid, RefundDue, RefundFailed, Refunded, Waived};
    let kept = |reason| Standing {
        state: Forfeited,
        phase: now.phase,
        forfeit: Some(reason),
    };
    let to = |state, phase| Standing {
        state,
        phase,
        forfeit: None,
    };
    match op {
        Op::Return | Op::Lose => {
            if now.phase != Open {
                return Err(Refusal::NotOpen);
            }
            let phase = if op == Op::Return { Returned } else { Lost };
            Ok(match (now.state, phase) {
                (Paid, Returned) => to(RefundDue, Returned),
                (Paid, _) => Standing {
                    phase: Lost,
                    ..kept(ForfeitReason::Lost)
                },
                _ => Standing { phase, ..now },
            })
        }
        Op::Find => match (now.phase, now.state) {
            (Lost, Forfeited) => Ok(to(RefundDue, Returned)),
            (Lost, _) => Ok(Standing {
                phase: Returned,
                ..now
            }),
            _ => Err(Refusal::NotLost),
        },
        Op::ConfirmPayment => match now.state {
            AwaitingPayment => Ok(match now.phase {
                Open => to(Paid, Open),
                Returned => to(RefundDue, Returned),
                Lost => kept(ForfeitReason::Lost),
            }),
            Waived => Err(Refusal::NotAwaitingPayment),
            _ => Err(Refusal::AlreadyPaid),
        },
        Op::Refund | Op::RefundFailed | Op::ForfeitDamaged => match now.state {
            RefundDue => Ok(match op {
                Op::Refund => to(Refunded, now.phase),
                Op::RefundFailed => to(RefundFailed, now.phase),
                _ => kept(ForfeitReason::Damaged),
            }),
            Paid if now.phase == Open => Err(Refusal::StillOpen),
            _ => Err(Refusal::NotRefundDue),
        },
        Op::NewAccount => match (now.phase, now.state) {
            (Open, _) => Err(Refusal::StillOpen),
            (_, RefundFailed | RefundDue) => Ok(to(RefundDue, now.phase)),
            (_, AwaitingPayment) => Ok(now),
            _ => Err(Refusal::NoAccountNeeded),
        },
        Op::Waive => match now.state {
            AwaitingPayment => Ok(to(Waived, now.phase)),
            _ => Err(Refusal::NotAwaitingPayment),
        },
    }
}

/// The operations an operator may take now: the console shows these buttons only.
pub fn operator_operations(now: Standing) -> Vec<Operation> {
    OPERATOR_OPERATIONS
        .into_iter()
        .filter(|op| apply(now, *op).is_ok())
        .collect()
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingPayment => "awaiting_payment",
            Self::Paid => "paid",
            Self::RefundDue => "refund_due",
            Self::Refunded => "refunded",
            Self::Forfeited => "forfeited",
            Self::RefundFailed => "refund_failed",
            Self::Waived => "waived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "awaiting_payment" => Self::AwaitingPayment,
            "paid" => Self::Paid,
            "refund_due" => Self::RefundDue,
            "refunded" => Self::Refunded,
            "forfeited" => Self::Forfeited,
            "refund_failed" => Self::RefundFailed,
            "waived" => Self::Waived,
            _ => return None,
        })
    }

    /// The deposit is in our account.
    pub fn held(self) -> bool {
        matches!(self, Self::Paid | Self::RefundDue | Self::RefundFailed)
    }

    /// Money is owed one way or the other and somebody has to act: these are the work
    /// queues, and every deposit in one of these states is in exactly that queue.
    pub fn needs_work(self) -> bool {
        matches!(
            self,
            Self::AwaitingPayment | Self::RefundDue | Self::RefundFailed
        )
    }
}

impl ForfeitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lost => "lost",
            Self::Damaged => "damaged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lost" => Some(Self::Lost),
            "damaged" => Some(Self::Damaged),
            _ => None,
        }
    }
}

impl Operation {
    pub const ALL: [Self; 9] = [
        Self::Return,
        Self::Lose,
        Self::Find,
        Self::ConfirmPayment,
        Self::Refund,
        Self::RefundFailed,
        Self::NewAccount,
        Self::ForfeitDamaged,
        Self::Waive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Return => "return",
            Self::Lose => "lose",
            Self::Find => "find",
            Self::ConfirmPayment => "confirm_payment",
            Self::Refund => "refund",
            Self::RefundFailed => "refund_failed",
            Self::NewAccount => "new_account",
            Self::ForfeitDamaged => "forfeit_damaged",
            Self::Waive => "waive",
        }
    }

    /// The operation's name in the console and the CSV.
    pub fn label(self) -> &'static str {
        match self {
            Self::Return => "반납",
            Self::Lose => "분실 처리",
            Self::Find => "분실 우산 회수",
            Self::ConfirmPayment => "입금 확인",
            Self::Refund => "환급 완료",
            Self::RefundFailed => "환급 실패",
            Self::NewAccount => "환급 계좌 입력",
            Self::ForfeitDamaged => "파손으로 보증금 차감",
            Self::Waive => "보증금 면제",
        }
    }
}

/// What the renter reads about their deposit: Korean, and English beside it.
pub fn renter_label(state: State, forfeit: Option<ForfeitReason>) -> (&'static str, &'static str) {
    match (state, forfeit) {
        (State::AwaitingPayment, _) => ("입금 확인 전", "Awaiting your deposit"),
        (State::Paid, _) => ("보증금 입금 확인", "Deposit received"),
        (State::RefundDue, _) => ("환급 대기", "Refund pending"),
        (State::Refunded, _) => ("환급 완료", "Refunded"),
        (State::Forfeited, Some(ForfeitReason::Damaged)) => (
            "우산 파손으로 약관에 따라 보증금을 돌려드리지 않습니다",
            "Kept: the umbrella came back damaged (terms of service)",
        ),
        (State::Forfeited, _) => (
            "우산 분실로 약관에 따라 보증금을 돌려드리지 않습니다. 우산을 찾으면 환급됩니다",
            "Kept: the umbrella is lost (terms of service); refunded if it is found",
        ),
        (State::RefundFailed, _) => (
            "환급 실패: 은행이 계좌를 거절했습니다. 계좌를 다시 입력해 주세요",
            "Refund failed: the bank rejected the account. Please enter it again",
        ),
        (State::Waived, _) => ("보증금 면제", "Deposit waived"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [State; 7] = [
        State::AwaitingPayment,
        State::Paid,
        State::RefundDue,
        State::Refunded,
        State::Forfeited,
        State::RefundFailed,
        State::Waived,
    ];
    const PHASES: [Phase; 3] = [Phase::Open, Phase::Returned, Phase::Lost];
    const OPS: [Operation; 9] = Operation::ALL;

    /// Every standing the machine can reach from a new rental.
    fn reachable() -> Vec<Standing> {
        let start = Standing {
            state: State::AwaitingPayment,
            phase: Phase::Open,
            forfeit: None,
        };
        let mut seen = vec![start];
        let mut i = 0;
        while i < seen.len() {
            for op in OPS {
                if let Ok(next) = apply(seen[i], op)
                    && !seen.contains(&next)
                {
                    seen.push(next);
                }
            }
            i += 1;
        }
        seen
    }

    #[test]
    fn every_reachable_standing_keeps_the_invariants() {
        let all = reachable();
        assert!(all.len() > 10, "{all:?}");
        for s in &all {
            // A forfeited deposit carries its reason, and only then.
            assert_eq!(s.state == State::Forfeited, s.forfeit.is_some(), "{s:?}");
            // A deposit is owed back, or refunded, only once the umbrella is back.
            if matches!(
                s.state,
                State::RefundDue | State::Refunded | State::RefundFailed
            ) {
                assert_eq!(s.phase, Phase::Returned, "{s:?}");
            }
            // Lost umbrellas keep a paid deposit; damage only after a return.
            match s.forfeit {
                Some(ForfeitReason::Lost) => assert_eq!(s.phase, Phase::Lost),
                Some(ForfeitReason::Damaged) => assert_eq!(s.phase, Phase::Returned),
                None => {}
            }
            // A paid deposit with the umbrella still out is the only held state of an
            // open rental.
            if s.phase == Phase::Open {
                assert!(
                    matches!(
                        s.state,
                        State::AwaitingPayment | State::Paid | State::Waived
                    ),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn a_refund_needs_a_payment_first() {
        // Refunded is reachable only through refund_due, which only a confirmed payment
        // leads to: no standing without a payment lets `Refund` through.
        for s in reachable() {
            if matches!(s.state, State::AwaitingPayment | State::Waived) {
                assert_eq!(
                    apply(s, Operation::Refund),
                    Err(Refusal::NotRefundDue),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn each_state_and_phase_answers_every_operation() {
        // Total: every combination gives a standing or a named refusal, never a panic.
        for state in STATES {
            for phase in PHASES {
                let forfeit = (state == State::Forfeited).then_some(ForfeitReason::Lost);
                for op in OPS {
                    let _ = apply(
                        Standing {
                            state,
                            phase,
                            forfeit,
                        },
                        op,
                    );
                }
            }
        }
    }

    #[test]
    fn the_typical_rental_returned_before_payment_goes_straight_to_refund_due() {
        let s = Standing {
            state: State::AwaitingPayment,
            phase: Phase::Open,
            forfeit: None,
        };
        let back = apply(s, Operation::Return).unwrap();
        assert_eq!(back.state, State::AwaitingPayment);
        assert!(back.state.needs_work());
        let paid = apply(back, Operation::ConfirmPayment).unwrap();
        assert_eq!(paid.state, State::RefundDue);
        assert_eq!(
            operator_operations(paid),
            [
                Operation::Refund,
                Operation::RefundFailed,
                Operation::ForfeitDamaged
            ]
        );
    }

    #[test]
    fn lost_then_found_returns_the_deposit_to_refund_due() {
        let paid = Standing {
            state: State::Paid,
            phase: Phase::Open,
            forfeit: None,
        };
        let lost = apply(paid, Operation::Lose).unwrap();
        assert_eq!(lost.state, State::Forfeited);
        assert_eq!(lost.forfeit, Some(ForfeitReason::Lost));
        assert_eq!(apply(lost, Operation::Refund), Err(Refusal::NotRefundDue));
        let found = apply(lost, Operation::Find).unwrap();
        assert_eq!(found.state, State::RefundDue);
        assert_eq!(found.forfeit, None);
        assert_eq!(apply(found, Operation::Find), Err(Refusal::NotLost));
    }

    #[test]
    fn a_failed_refund_waits_for_a_new_account() {
        let due = Standing {
            state: State::RefundDue,
            phase: Phase::Returned,
            forfeit: None,
        };
        let failed = apply(due, Operation::RefundFailed).unwrap();
        assert_eq!(apply(failed, Operation::Refund), Err(Refusal::NotRefundDue));
        assert_eq!(
            apply(failed, Operation::NewAccount).unwrap().state,
            State::RefundDue
        );
    }

    #[test]
    fn names_round_trip() {
        for s in STATES {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }
}
