//! `was admin`: the first admin of a new installation (and any later one), without a
//! database console. Runs as a one-off task with the database settings only, like
//! `was migrate`.
//!
//! `create` makes a local account that is an admin, its address counted as verified (the
//! operator typed it). An account already using that address is refused, with when it
//! was created and last logged in: whoever signed up first with an operator's address
//! must not become the first admin. `--promote` makes that account an admin only if its
//! owner verified the address (and its password is left alone). `grant` needs a verified
//! address too; `revoke` takes the flag away. The password
//! comes from `WAS_ADMIN_PASSWORD`, never the command line, so it stays out of process
//! lists and task definitions' command fields.

use sqlx::PgPool;

use crate::config::HashingLimits;
use crate::domain::password::{Password, PasswordHasher};
use crate::domain::values::{Email, Name, Phone};
use crate::error::{Error, is_constraint};
use crate::repo::actions::{self, NewAction};
use crate::repo::users;

/// Rights changed from the server's command line go to the operator action log like
/// the console's, with no operator id: the actor is the `was admin` command.
async fn log(db: &PgPool, action: &str, user_id: i64, email: &str) -> Result<(), Error> {
    actions::record(
        db,
        &NewAction {
            actor_id: None,
            address: None,
            action,
            target_kind: "user",
            target_id: Some(user_id),
            details: serde_json::json!({"email": email, "via": "was admin"}),
        },
    )
    .await?;
    Ok(())
}

/// An account found under the address, as the operator is told about it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub created_at: time::OffsetDateTime,
    pub last_login_at: Option<time::OffsetDateTime>,
    pub email_verified: bool,
}

/// What `create` or `grant` did, or why it did nothing.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A new account, an admin from the start.
    Created(i64),
    /// The existing account with that address is an admin now.
    Promoted(i64),
    /// An account uses the address and `--promote` was not given.
    Exists(Existing),
    /// The account's owner has not verified the address: no admin rights.
    Unverified(Existing),
    /// No active account uses the address (`grant`).
    NoAccount,
}

async fn existing(db: &PgPool, email: &str) -> Result<Option<Existing>, Error> {
    Ok(users::account_by_email(db, email).await?.map(|a| Existing {
        id: a.id,
        created_at: a.created_at,
        last_login_at: a.last_login_at,
        email_verified: a.email_verified,
    }))
}

/// Creates an admin account; with `promote`, makes the verified account already using
/// this address an admin instead.
pub async fn create_admin(
    db: &PgPool,
    email: &str,
    name: &str,
    phone: &str,
    password: &str,
    promote: bool,
) -> Result<Outcome, Error> {
    let email = Email::parse(email)?;
    if let Some(found) = existing(db, email.as_str()).await? {
        return if promote {
            grant(db, email.as_str(), found).await
        } else {
            Ok(Outcome::Exists(found))
        };
    }
    let name = Name::parse(name)?;
    let phone = Phone::parse(phone)?;
    let password = Password::parse(password)?;
    let hasher = PasswordHasher::new(HashingLimits {
        concurrency: 1,
        queue: 1,
    });
    let hash = hasher.hash(password).await?;
    let account = users::NewAccount {
        email: email.as_str(),
        password_hash: &hash,
        name: name.as_str(),
        phone: phone.as_str(),
        is_admin: true,
        // The person agrees when they first use the site; an operator cannot for them.
        agreed: false,
        email_verified: true,
    };
    match users::sign_up(db, &account).await {
        Ok(id) => {
            log(db, "user.create_admin", id, email.as_str()).await?;
            Ok(Outcome::Created(id))
        }
        // Someone signed up with this address a moment ago: that is their account.
        Err(e) if is_constraint(&e, "users_email_key") => {
            match existing(db, email.as_str()).await? {
                Some(found) => Ok(Outcome::Exists(found)),
                None => Err(Error::internal("the account with this address vanished")),
            }
        }
        Err(e) => Err(e.into()),
    }
}

async fn grant(db: &PgPool, email: &str, found: Existing) -> Result<Outcome, Error> {
    if !found.email_verified {
        return Ok(Outcome::Unverified(found));
    }
    match users::set_admin_by_email(db, email, true).await? {
        Some(id) => {
            log(db, "user.grant_admin", id, email).await?;
            Ok(Outcome::Promoted(id))
        }
        None => Ok(Outcome::Unverified(found)),
    }
}

/// Grants admin rights to the verified account with this address.
pub async fn grant_admin(db: &PgPool, email: &str) -> Result<Outcome, Error> {
    let email = Email::parse(email)?;
    match existing(db, email.as_str()).await? {
        Some(found) => grant(db, email.as_str(), found).await,
        None => Ok(Outcome::NoAccount),
    }
}

/// Clears the admin flag of the active account with this address; `None` when there is
/// none.
pub async fn revoke_admin(db: &PgPool, email: &str) -> Result<Option<i64>, Error> {
    let email = Email::parse(email)?;
    let changed = users::set_admin_by_email(db, email.as_str(), false).await?;
    if let Some(id) = changed {
        log(db, "user.revoke_admin", id, email.as_str()).await?;
    }
    Ok(changed)
}
