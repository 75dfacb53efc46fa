//! Users: accounts, logins, refund accounts, admin rights and the blacklist.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::domain::role::Role;

mod bans;
pub use bans::*;

/// Identities as the blacklist stores them: the e-mail address for local accounts, the
/// Kakao id for Kakao accounts.
#[derive(Debug, Clone)]
pub enum Identity<'a> {
    Local(&'a str),
    Kakao(i64),
}

impl Identity<'_> {
    fn parts(&self) -> (&'static str, String) {
        match self {
            Identity::Local(email) => ("local", email.to_lowercase()),
            Identity::Kakao(id) => ("kakao", id.to_string()),
        }
    }
}

/// An account as its owner sees it.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: i64,
    pub email: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub kakao_id: Option<i64>,
    pub bank_name: Option<String>,
    /// Sealed (`domain::bank`) for this user.
    pub bank_account: Option<Vec<u8>>,
    /// Both the terms and the privacy policy agreed to.
    pub agreed: bool,
    pub email_verified: bool,
    pub has_password: bool,
    /// Reminder e-mails on.
    pub reminders: bool,
}

pub async fn profile(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Profile>> {
    sqlx::query_as!(
        Profile,
        r#"SELECT id, email, name, phone, role AS "role: Role", kakao_id, bank_name, bank_account,
                  terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL AS "agreed!",
                  email_verified_at IS NOT NULL AS "email_verified!",
                  password_hash IS NOT NULL AS "has_password!", reminders
           FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// An account as admins list it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub kakao_id: Option<i64>,
    /// `active`, `left` or `banned`.
    pub status: String,
    pub created_at: OffsetDateTime,
}

/// Users, newest first; with `search`, those whose name, e-mail or phone contains it
/// (phone digits compared without hyphens).
pub async fn page(
    db: impl PgExecutor<'_>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<User>> {
    sqlx::query_as!(
        User,
        r#"SELECT id, email, name, phone, role AS "role: Role", kakao_id, status, created_at FROM users
           WHERE $1::text IS NULL
              OR strpos(lower(name), lower($1)) > 0
              OR strpos(lower(coalesce(email, '')), lower($1)) > 0
              OR (length(regexp_replace($1, '\D', '', 'g')) >= 3
                  AND strpos(regexp_replace(coalesce(phone, ''), '\D', '', 'g'),
                             regexp_replace($1, '\D', '', 'g')) > 0)
           ORDER BY id DESC LIMIT $2 OFFSET $3"#,
        search,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// Completes a profile (Kakao sign-ups have neither a phone number nor the agreements):
/// the phone number, and the agreements' times where not already recorded.
pub async fn complete_profile(db: impl PgExecutor<'_>, id: i64, phone: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET phone = $2, terms_agreed_at = coalesce(terms_agreed_at, now()), \
         privacy_agreed_at = coalesce(privacy_agreed_at, now()) WHERE id = $1 AND status = 'active'",
        id,
        phone
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Changes the name shown to operators.
pub async fn set_name(db: impl PgExecutor<'_>, id: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET name = $2 WHERE id = $1 AND status = 'active'",
        id,
        name
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Turns reminder e-mails on or off.
pub async fn set_reminders(db: impl PgExecutor<'_>, id: i64, on: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET reminders = $2 WHERE id = $1 AND status = 'active'",
        id,
        on
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether a user may rent: a phone number to reach them and both agreements.
pub async fn ready_to_rent(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT phone IS NOT NULL AND terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL AS "ready!"
           FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
    .map(|ready| ready.unwrap_or(false))
}

/// Sets the role of an active user; `None` when there is none, or when making an
/// operator of an account whose e-mail address is not verified. A staff member's stores
/// are replaced by `stores` (emptied for any other role).
pub async fn set_role(
    tx: &mut sqlx::PgConnection,
    id: i64,
    role: Role,
    stores: &[i64],
) -> sqlx::Result<Option<User>> {
    let user = sqlx::query_as!(
        User,
        r#"UPDATE users SET role = $2 WHERE id = $1 AND status = 'active'
             AND ($2 = 'renter' OR email_verified_at IS NOT NULL)
           RETURNING id, email, name, phone, role AS "role: Role", kakao_id, status, created_at"#,
        id,
        role.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    if user.is_some() {
        set_staff_stores(tx, id, if role == Role::Staff { stores } else { &[] }).await?;
    }
    Ok(user)
}

async fn set_staff_stores(
    tx: &mut sqlx::PgConnection,
    id: i64,
    stores: &[i64],
) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM staff_stores WHERE user_id = $1", id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO staff_stores (user_id, store_id) SELECT $1, unnest($2::bigint[])",
        id,
        stores
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The stores a staff member works for, ascending.
pub async fn staff_stores(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT store_id FROM staff_stores WHERE user_id = $1 ORDER BY store_id",
        id
    )
    .fetch_all(db)
    .await
}

/// The stores of each of these staff members.
pub async fn staff_stores_of(
    db: impl PgExecutor<'_>,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, i64)>> {
    let rows = sqlx::query!(
        "SELECT user_id, store_id FROM staff_stores WHERE user_id = ANY($1) ORDER BY store_id",
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.store_id)).collect())
}

/// A local account to create.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    /// For `was admin create`; sign-up makes renters.
    pub role: Role,
    /// The person agreed to the terms and the privacy policy now (sign-up requires it).
    pub agreed: bool,
    /// The address is known to be the person's (`was admin create`: the operator typed
    /// it); sign-ups verify theirs from the link we send.
    pub email_verified: bool,
}

/// Creates a local account; returns its id. `users_email_key` refuses a taken address.
pub async fn sign_up(db: impl PgExecutor<'_>, a: &NewAccount<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, password_hash, name, phone, role, terms_agreed_at, privacy_agreed_at, email_verified_at) \
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END, CASE WHEN $6 THEN now() END, CASE WHEN $7 THEN now() END) \
         RETURNING id",
        a.email,
        a.password_hash,
        a.name,
        a.phone,
        a.role.as_str(),
        a.agreed,
        a.email_verified
    )
    .fetch_one(db)
    .await
}

/// Sets the role of the active account with this (lower-case) address; its id, or
/// `None` when there is none (or, making an operator, its address is not verified).
pub async fn set_role_by_email(
    tx: &mut sqlx::PgConnection,
    email: &str,
    role: Role,
    stores: &[i64],
) -> sqlx::Result<Option<i64>> {
    let id = sqlx::query_scalar!(
        "UPDATE users SET role = $2 WHERE lower(email) = $1 AND status = 'active' \
           AND ($2 = 'renter' OR email_verified_at IS NOT NULL) RETURNING id",
        email,
        role.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = id {
        set_staff_stores(tx, id, if role == Role::Staff { stores } else { &[] }).await?;
    }
    Ok(id)
}

/// Who logs in: the account behind an identity, and its role.
#[derive(Debug, Clone, Copy)]
pub struct Login {
    pub id: i64,
    pub role: Role,
}

/// An active local account and its password hash, by lower-case e-mail address.
pub struct Credentials {
    pub id: i64,
    pub password_hash: Option<String>,
    pub role: Role,
}

pub async fn credentials(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as!(
        Credentials,
        r#"SELECT id, password_hash, role AS "role: Role" FROM users WHERE lower(email) = $1 AND status = 'active'"#,
        email
    )
    .fetch_optional(db)
    .await
}

/// The active account of a Kakao user, created on the first login. `None` when the
/// Kakao id belongs to an account that left or was banned.
pub async fn kakao_login(
    db: impl PgExecutor<'_>,
    kakao_id: i64,
    name: &str,
) -> sqlx::Result<Option<Login>> {
    sqlx::query_as!(
        Login,
        r#"WITH inserted AS (
               INSERT INTO users (kakao_id, name) VALUES ($1, $2)
               ON CONFLICT (kakao_id) WHERE kakao_id IS NOT NULL DO NOTHING RETURNING id, role)
           SELECT id AS "id!", role AS "role!: Role" FROM inserted
           UNION ALL SELECT id, role FROM users WHERE kakao_id = $1 AND status = 'active'
           LIMIT 1"#,
        kakao_id,
        name
    )
    .fetch_optional(db)
    .await
}

/// The active account of a Kakao user.
pub async fn kakao_account(db: impl PgExecutor<'_>, kakao_id: i64) -> sqlx::Result<Option<Login>> {
    sqlx::query_as!(
        Login,
        r#"SELECT id, role AS "role: Role" FROM users WHERE kakao_id = $1 AND status = 'active'"#,
        kakao_id
    )
    .fetch_optional(db)
    .await
}

/// Whether an account may still act, and with which rights (checked on every request).
pub struct Standing {
    /// `active`, `left` or `banned`.
    pub status: String,
    pub role: Role,
    /// Sessions made in an earlier generation have ended (a password change or reset,
    /// or "log out everywhere").
    pub session_generation: i32,
}

pub async fn standing(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Standing>> {
    sqlx::query_as!(
        Standing,
        r#"SELECT status, role AS "role: Role", session_generation FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// The generation a new session of this user starts in, and the login recorded.
pub async fn record_login(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING session_generation",
        id
    )
    .fetch_one(db)
    .await
}

/// Ends every session of the user (they carry an older generation now); returns the
/// new generation, `None` when the account is not active.
pub async fn end_sessions(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "UPDATE users SET session_generation = session_generation + 1 \
         WHERE id = $1 AND status = 'active' RETURNING session_generation",
        id
    )
    .fetch_optional(db)
    .await
}

/// Sets a new password hash and ends every session; returns the new generation.
pub async fn set_password(
    db: impl PgExecutor<'_>,
    id: i64,
    password_hash: &str,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), \
                session_generation = session_generation + 1 \
         WHERE id = $1 AND status = 'active' RETURNING session_generation",
        id,
        password_hash
    )
    .fetch_optional(db)
    .await
}

/// What the owner's own account needs for checking a password and sending mail.
pub struct Account {
    pub id: i64,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: String,
    pub password_hash: Option<String>,
    pub kakao_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
    pub role: Role,
}

pub async fn account(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Account>> {
    sqlx::query_as!(
        Account,
        r#"SELECT id, email, email_verified_at IS NOT NULL AS "email_verified!", name, password_hash,
                  kakao_id, created_at, last_login_at, role AS "role: Role"
           FROM users WHERE id = $1 AND status = 'active'"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// The active account using this (lower-case) address.
pub async fn account_by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<Account>> {
    sqlx::query_as!(
        Account,
        r#"SELECT id, email, email_verified_at IS NOT NULL AS "email_verified!", name, password_hash,
                  kakao_id, created_at, last_login_at, role AS "role: Role"
           FROM users WHERE lower(email) = $1 AND status = 'active'"#,
        email
    )
    .fetch_optional(db)
    .await
}

/// Marks the address verified, if it is still the account's.
pub async fn verify_email(db: impl PgExecutor<'_>, id: i64, email: &str) -> sqlx::Result<bool> {
    sqlx::query!(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) \
         WHERE id = $1 AND lower(email) = lower($2) AND status = 'active'",
        id,
        email
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Makes a verified new address the account's (`users_email_key` refuses a taken one).
pub async fn change_email(db: impl PgExecutor<'_>, id: i64, email: &str) -> sqlx::Result<bool> {
    sqlx::query!(
        "UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1 AND status = 'active'",
        id,
        email
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// The saved refund account, sealed for the user.
pub struct SavedAccount {
    pub bank_name: Option<String>,
    pub bank_account: Option<Vec<u8>>,
}

pub async fn saved_account(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<SavedAccount> {
    sqlx::query_as!(
        SavedAccount,
        "SELECT bank_name, bank_account FROM users WHERE id = $1",
        id
    )
    .fetch_one(db)
    .await
}

/// Saves a refund account, sealed for the user.
pub async fn set_bank_account(
    db: impl PgExecutor<'_>,
    id: i64,
    bank_name: &str,
    sealed: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET bank_name = $2, bank_account = $3 WHERE id = $1",
        id,
        bank_name,
        sealed
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete_bank_account(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET bank_name = NULL, bank_account = NULL WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}
