//! The operator action log: every state change an operator makes is appended in the same
//! transaction as the change (so a change that cannot be logged does not happen), and
//! read back here with filters.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Result;
use crate::http::extract::{Json, Paging, Query};
use crate::http::session::Operator;
use crate::repo::actions::{self, Action, NewAction};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_actions))
        .routes(routes!(account_views))
}

impl Operator {
    /// Appends what this operator did to `target_kind` `target_id`, with what changed.
    pub async fn log(
        &self,
        db: impl PgExecutor<'_>,
        action: &str,
        target_kind: &str,
        target_id: Option<i64>,
        details: Value,
    ) -> Result<()> {
        // The log's `details` is always an object, so readers can rely on its shape.
        let details = if details.is_object() {
            details
        } else {
            serde_json::json!({ "value": details })
        };
        actions::record(
            db,
            &NewAction {
                actor_id: Some(self.id),
                address: self.address.map(|a| a.to_string()),
                action,
                target_kind,
                target_id,
                details,
            },
        )
        .await?;
        tracing::info!(
            admin_id = self.id,
            action,
            target_kind,
            target_id,
            "operator action"
        );
        Ok(())
    }
}

#[derive(Serialize, ToSchema)]
pub struct ActionEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `null`: the `was admin` command on the server.
    pub actor_id: Option<i64>,
    /// The operator's e-mail and name when they acted (kept after they leave).
    pub actor_email: Option<String>,
    pub actor_name: String,
    /// The client address the request came from.
    pub address: Option<String>,
    /// What was done, e.g. `deposit.confirm_payment`, `rental.close`, `user.ban`.
    pub action: String,
    /// `rental`, `umbrella`, `store`, `locker`, `user`, `classification`.
    pub target_kind: String,
    pub target_id: Option<i64>,
    /// What changed.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<Action> for ActionEntry {
    fn from(a: Action) -> Self {
        Self {
            id: a.id,
            at: a.at,
            actor_id: a.actor_id,
            actor_email: a.actor_email,
            actor_name: a.actor_name,
            address: a.address,
            action: a.action,
            target_kind: a.target_kind,
            target_id: a.target_id,
            details: a.details,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ActionFilter {
    /// Only this operator's actions.
    pub actor_id: Option<i64>,
    /// Only this action (e.g. `deposit.refund`).
    #[param(max_length = 64)]
    pub action: Option<String>,
    #[param(max_length = 32)]
    pub target_kind: Option<String>,
    pub target_id: Option<i64>,
    /// From this time on (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// The operator action log, newest first, filtered.
#[utoipa::path(get, path = "/actions", tag = "admin", params(ActionFilter, Paging),
    responses((status = 200, body = [ActionEntry])))]
pub async fn list_actions(
    State(state): State<AppState>,
    Query(f): Query<ActionFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<ActionEntry>>> {
    let page = actions::page(
        &state.db,
        &actions::Filter {
            actor_id: f.actor_id,
            action: name_filter(f.action.as_deref())?,
            target_kind: name_filter(f.target_kind.as_deref())?,
            target_id: f.target_id,
            since: f.since,
            until: f.until,
        },
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Json(page.into_iter().map(Into::into).collect()))
}

/// An action or target name to filter on: empty means none; anything but the
/// lower-case letters, digits, `_` and `.` that names are made of is a malformed request.
fn name_filter(raw: Option<&str>) -> Result<Option<&str>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name)
            if name.len() <= 64
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                }) =>
        {
            Ok(Some(name))
        }
        Some(_) => Err(crate::error::Error::bad_request(
            "invalid_filter",
            "작업·대상 이름은 영문 소문자, 숫자, _ 와 . 로만 이루어집니다. (Names are lower-case letters, digits, _ and .)",
        )),
    }
}

/// The full reads of refund accounts (the log's `bank_account.read` entries), newest
/// first.
#[utoipa::path(get, path = "/account-views", tag = "admin", params(Paging), responses((status = 200, body = [ActionEntry])))]
pub async fn account_views(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<ActionEntry>>> {
    let page = actions::page(
        &state.db,
        &actions::Filter {
            action: Some(BANK_ACCOUNT_READ),
            ..Default::default()
        },
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Json(page.into_iter().map(Into::into).collect()))
}

/// The log's name for a full read of a refund account.
pub const BANK_ACCOUNT_READ: &str = "bank_account.read";
