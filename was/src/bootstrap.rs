//! `was admin`: the first admin of a new installation (and any later one), without a
//! database console. Runs as a one-off task with the database settings only, like
//! `was migrate`.
//!
//! `create` makes a local account that is an admin, or makes the account already using
//! that e-mail address an admin (its password is then left alone: the person keeps
//! theirs). `grant` and `revoke` change the flag of an existing account. The password
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

/// What `create` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// A new account, an admin from the start.
    New(i64),
    /// The existing account with that address is an admin now.
    Promoted(i64),
}

/// Creates an admin account, or promotes the active account with this address.
pub async fn create_admin(
    db: &PgPool,
    email: &str,
    name: &str,
    phone: &str,
    password: &str,
) -> Result<Created, Error> {
    let email = Email::parse(email)?;
    if let Some(id) = users::set_admin_by_email(db, email.as_str(), true).await? {
        log(db, "user.grant_admin", id, email.as_str()).await?;
        return Ok(Created::Promoted(id));
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
    };
    let created = users::sign_up(db, &account).await;
    match created {
        Ok(id) => {
            log(db, "user.create_admin", id, email.as_str()).await?;
            Ok(Created::New(id))
        }
        // Someone signed up with this address a moment ago: promote that account.
        Err(e) if is_constraint(&e, "users_email_key") => {
            users::set_admin_by_email(db, email.as_str(), true)
                .await?
                .map(Created::Promoted)
                .ok_or_else(|| Error::internal("the account with this address vanished"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets or clears the admin flag of the active account with this address; `None` when
/// there is none.
pub async fn set_admin(db: &PgPool, email: &str, admin: bool) -> Result<Option<i64>, Error> {
    let email = Email::parse(email)?;
    let changed = users::set_admin_by_email(db, email.as_str(), admin).await?;
    if let Some(id) = changed {
        let action = if admin {
            "user.grant_admin"
        } else {
            "user.revoke_admin"
        };
        log(db, action, id, email.as_str()).await?;
    }
    Ok(changed)
}
