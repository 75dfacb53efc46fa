//! `was admin`: the first admin of a new installation (and any later one), without a
//! database console. Runs as a one-off task with the database settings only, like
//! `was migrate`.
//!
//! `create` makes a local account that is an admin, its address counted as verified (the
//! operator typed it). An account already using that address is refused, with when it
//! was created and last logged in: whoever signed up first with an operator's address
//! must not become the first admin. `--promote` makes that account an admin only if its
//! owner verified the address (and its password is left alone). `grant` gives a role
//! (admin unless `--role` says staff, with `--store`, or clerk) and needs a verified
//! address too; `revoke` makes the account a renter again. The password
//! comes from `WAS_ADMIN_PASSWORD`, never the command line, so it stays out of process
//! lists and task definitions' command fields.

use sqlx::PgPool;

use crate::config::HashingLimits;
use crate::domain::password::{Password, PasswordHasher};
use crate::domain::role::Role;
use crate::domain::values::{Email, Name, Phone};
use crate::error::{Error, is_constraint};
use crate::repo::actions::{self, NewAction};
use crate::repo::users;

/// Rights changed from the server's command line go to the operator action log like
/// the console's, with no operator id: the actor is the `was admin` command.
async fn log(
    db: &PgPool,
    action: &str,
    user_id: i64,
    email: &str,
    role: Role,
) -> Result<(), Error> {
    actions::record(
        db,
        &NewAction {
            actor_id: None,
            address: None,
            action,
            target_kind: "user",
            target_id: Some(user_id),
            details: serde_json::json!({"email": email, "role": role.as_str(), "via": "was admin"}),
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
            grant(db, email.as_str(), found, Role::Admin, &[]).await
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
        role: Role::Admin,
        // The person agrees when they first use the site; an operator cannot for them.
        agreed: false,
        email_verified: true,
    };
    match users::sign_up(db, &account).await {
        Ok(id) => {
            log(db, "user.create_admin", id, email.as_str(), Role::Admin).await?;
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

async fn grant(
    db: &PgPool,
    email: &str,
    found: Existing,
    role: Role,
    stores: &[i64],
) -> Result<Outcome, Error> {
    if !found.email_verified {
        return Ok(Outcome::Unverified(found));
    }
    let mut tx = db.begin().await?;
    let changed = users::set_role_by_email(&mut tx, email, role, stores).await?;
    tx.commit().await?;
    match changed {
        Some(id) => {
            log(db, "user.set_role", id, email, role).await?;
            Ok(Outcome::Promoted(id))
        }
        None => Ok(Outcome::Unverified(found)),
    }
}

/// Gives the verified account with this address a role: admin, clerk, or staff of
/// `stores` (at least one, each an existing store).
pub async fn grant_role(
    db: &PgPool,
    email: &str,
    role: Role,
    stores: &[i64],
) -> Result<Outcome, Error> {
    let email = Email::parse(email)?;
    if role == Role::Staff {
        if stores.is_empty() {
            return Err(Error::invalid(
                "stores_required",
                "매장 직원에게는 --store로 담당 매장을 하나 이상 주세요. (Give staff their stores with --store.)",
            ));
        }
        for store in stores {
            if !crate::repo::stores::exists(db, *store).await? {
                return Err(Error::invalid(
                    "unknown_store",
                    format!("매장 {store}번이 없습니다. (No such store.)"),
                ));
            }
        }
    }
    match existing(db, email.as_str()).await? {
        Some(found) => grant(db, email.as_str(), found, role, stores).await,
        None => Ok(Outcome::NoAccount),
    }
}

/// Grants admin rights to the verified account with this address.
pub async fn grant_admin(db: &PgPool, email: &str) -> Result<Outcome, Error> {
    grant_role(db, email, Role::Admin, &[]).await
}

/// Makes the active account with this address a renter again (no console); `None`
/// when there is none.
pub async fn revoke_admin(db: &PgPool, email: &str) -> Result<Option<i64>, Error> {
    let email = Email::parse(email)?;
    let mut tx = db.begin().await?;
    let changed = users::set_role_by_email(&mut tx, email.as_str(), Role::Renter, &[]).await?;
    tx.commit().await?;
    if let Some(id) = changed {
        log(db, "user.revoke_role", id, email.as_str(), Role::Renter).await?;
    }
    Ok(changed)
}
