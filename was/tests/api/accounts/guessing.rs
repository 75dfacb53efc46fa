//! Password guessing, keyed hashes, the first admin's address, and leaving.

use super::*;

/// The attack from the issue: thirty wrong passwords from one address, then the owner
/// from another address with the right one. The owner gets in; the attacker's address
/// is stopped even when it finally guesses right.
#[tokio::test]
async fn a_strangers_wrong_passwords_never_lock_the_owner_out() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_LOGIN_FAILURES", "5/15m"),
        ("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "20/1h"),
    ])
    .await;
    let email = unique("owner");
    sign_up_as(&app, &app.client(), &email).await;
    let attacker = client_from("127.0.0.66");
    let mut checked = 0;
    let mut refused = 0;
    for i in 0..30 {
        let r = login(&app, &attacker, &email, &format!("guess-{i}-guess")).await;
        match r.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                let p = problem(r, StatusCode::TOO_MANY_REQUESTS).await;
                assert!(p["detail"].as_str().unwrap().contains("비밀번호"), "{p}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        (checked, refused),
        (5, 25),
        "five guesses from that address, then none"
    );
    // Even the right password from the attacker's address waits.
    problem(
        login(&app, &attacker, &email, "password123").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    // The owner, elsewhere, is not refused.
    let owner = client_from("127.0.0.7");
    let me = json_ok(
        login(&app, &owner, &email, "password123").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email"], email.as_str());
    println!("lockout: attacker 30 tries → {checked} checked, {refused} refused; owner logged in");
}

/// Guessing spread over many addresses is bounded by the account's ceiling: once it is
/// reached, each address that has failed is stopped, and a new one gets one guess.
#[tokio::test]
async fn guessing_from_many_addresses_is_bounded() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_LOGIN_FAILURES", "5/15m"),
        ("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "12/1h"),
    ])
    .await;
    let email = unique("target");
    sign_up_as(&app, &app.client(), &email).await;
    let mut checked = 0;
    let addresses = 20;
    for a in 0..addresses {
        let attacker = client_from(&format!("127.0.1.{}", a + 10));
        for i in 0..5 {
            let r = login(&app, &attacker, &email, &format!("guess-{a}-{i}")).await;
            match r.status() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("unexpected {other}"),
            }
        }
    }
    // 12 (the ceiling, reached inside the third address) + the rest of that address's
    // burst is cut at its next try; then one guess per new address.
    let bound = 12 + 5 + addresses;
    assert!(checked <= bound, "{checked} guesses checked, bound {bound}");
    assert!(
        checked < 5 * addresses,
        "the ceiling took effect: {checked}"
    );
    // The owner from a clean address still gets in.
    json_ok(
        login(&app, &client_from("127.0.2.1"), &email, "password123").await,
        StatusCode::OK,
    )
    .await;
    println!("distributed guessing: {addresses} addresses × 5 → {checked} passwords checked");
}

#[tokio::test]
async fn one_address_cannot_spend_its_allowance_in_one_burst() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_BURST_PER_ADDRESS", "5/1m")]).await;
    let c = client_from("127.0.0.99");
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = login(&app, &c, &unique(&format!("burst{i}")), "password123").await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    // Another address is unaffected.
    assert_eq!(
        login(
            &app,
            &client_from("127.0.0.98"),
            &unique("other"),
            "x-password-x"
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Rate-limit keys and stored request hashes are HMACs under the server key: a copy of
/// Redis or of the database does not give away e-mails or account numbers.
#[tokio::test]
async fn stored_hashes_are_keyed() {
    use sha2::Digest;
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_FAILURES", "5/15m")]).await;
    let email = unique("keyed");
    login(&app, &app.client(), &email, "wrong-wrong").await;
    let out = std::process::Command::new("redis-cli")
        .args([
            "-u",
            &app.redis_url,
            "--scan",
            "--pattern",
            "upbrella:rl:login-failures*",
        ])
        .output()
        .expect("redis-cli (installed with redis-server)");
    let keys = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!keys.trim().is_empty(), "the failure was counted");
    // What an unkeyed hash of the e-mail would look like: not there.
    for text in [email.clone(), format!("{email}\u{0}127.0.0.1")] {
        let plain = hex::encode(&sha2::Sha256::digest(text.as_bytes())[..16]);
        assert!(!keys.contains(&plain), "{keys}");
    }
}

/// Someone signs up first with the operator's address, hoping `was admin create` or the
/// console promotes their account. Neither does: the account exists (and is shown with
/// its dates), and its address was never verified.
#[tokio::test]
async fn the_first_admins_address_taken_first_gives_no_admin_rights() {
    use was::bootstrap::{Outcome, create_admin, grant_admin};
    let app = spawn_app_with_mail(&[]).await;
    let operator = unique("operator");
    let squatter = app.client();
    let squatter_id = sign_up_as(&app, &squatter, &operator).await;

    let outcome = create_admin(
        &app.db,
        &operator,
        "운영자",
        "010-0000-0000",
        "operator pw 123",
        false,
    )
    .await
    .expect("create");
    let Outcome::Exists(found) = outcome else {
        panic!("refused without --promote: {outcome:?}");
    };
    assert_eq!(found.id, squatter_id);
    assert!(!found.email_verified);
    let outcome = create_admin(
        &app.db,
        &operator,
        "운영자",
        "010-0000-0000",
        "operator pw 123",
        true,
    )
    .await
    .expect("create --promote");
    assert!(matches!(outcome, Outcome::Unverified(_)), "{outcome:?}");
    assert!(matches!(
        grant_admin(&app.db, &operator).await.expect("grant"),
        Outcome::Unverified(_)
    ));
    // Nor through the console.
    let (admin, _) = app.admin().await;
    let p = problem(
        app.patch(
            &admin,
            &format!("/api/admin/users/{squatter_id}"),
            json!({"role": "admin"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["code"], "email_unverified");
    problem(
        app.get(&squatter, "/api/admin/users").await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // A real owner who verified the address can be promoted, keeping their password.
    let owner_email = unique("real-owner");
    let owner = app.client();
    sign_up_as(&app, &owner, &owner_email).await;
    let token = token_in(&wait_for_mail(&owner_email, "확인해 주세요", 1).await);
    app.post(&owner, "/api/auth/email/confirm", json!({"token": token}))
        .await;
    assert!(matches!(
        grant_admin(&app.db, &owner_email).await.expect("grant"),
        Outcome::Promoted(_)
    ));
    json_ok(app.get(&owner, "/api/admin/users").await, StatusCode::OK).await;
    // A new admin account from the command line is verified by the operator who typed it.
    let fresh = unique("fresh-admin");
    let outcome = create_admin(
        &app.db,
        &fresh,
        "새 관리자",
        "010-1111-2222",
        "fresh admin pw",
        false,
    )
    .await
    .expect("create");
    assert!(matches!(outcome, Outcome::Created(_)), "{outcome:?}");
    let c = app.client();
    let me = json_ok(
        login(&app, &c, &fresh, "fresh admin pw").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["email_verified"], true);
}

/// Leaving deletes the links mailed to the account with its address: nothing of the
/// person stays in `account_tokens`.
#[tokio::test]
async fn leaving_deletes_the_mailed_links() {
    let app = spawn_app_with_mail(&[]).await;
    let c = app.client();
    let email = unique("leaver");
    let id = sign_up_as(&app, &c, &email).await;
    wait_for_mail(&email, "확인해 주세요", 1).await;
    let links = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM account_tokens WHERE user_id = $1")
                .bind(id)
                .fetch_one(&db)
                .await
                .expect("count")
        }
    };
    assert_eq!(links(&app).await, 1);
    assert_eq!(
        app.delete(&c, "/api/me").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(links(&app).await, 0);
}
