//! The account through the mail: verifying the address, changing and resetting the
//! password, confirming it again before changing the refund account.

use crate::harness::*;
use fantoccini::Locator;
use stack::TempDir;
use std::time::Duration;

/// Waits for the newest mail to `to` whose subject contains `subject` (at least `count`
/// of them) in the mail catcher, and returns the path and fragment of its link.
async fn mailed_link(
    catcher: &stack::MailCatcher,
    to: &str,
    subject: &str,
    count: usize,
) -> String {
    let started = std::time::Instant::now();
    loop {
        let all: Vec<serde_json::Value> = reqwest::get(format!("{}/email", catcher.web_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: Vec<_> = all
            .iter()
            .filter(|m| {
                m["subject"].as_str().is_some_and(|s| s.contains(subject))
                    && m["to"][0]["address"].as_str() == Some(to)
            })
            .collect();
        if found.len() >= count {
            let text = found[found.len() - 1]["text"].as_str().unwrap();
            let start = text
                .find("http://upbrella.test/")
                .expect("a link to PUBLIC_URL");
            let link: String = text[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            return link.trim_start_matches("http://upbrella.test").to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no mail {subject:?} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A renter verifies the address from the mail, changes the password (the other device is
/// logged out), forgets it and resets it from the mail, and confirms the password again
/// before changing the refund account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renter_verifies_changes_and_resets_through_the_mail() {
    let dir = TempDir::new("upbrella-browser-account").unwrap();
    let catcher = stack::MailCatcher::start(dir.path()).unwrap();
    let smtp = catcher.smtp_url();
    let s = stack(
        &dir,
        &[
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", &smtp),
            ("MAIL_FROM", "우산대여 upbrella <no-reply@upbrella.test>"),
            ("PUBLIC_URL", "http://upbrella.test"),
            ("REAUTH_WINDOW", "3s"),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    let email = format!("mail-{}@example.com", uuid::Uuid::new_v4().simple());
    let phone = Browser::open(&dir, base.clone(), "account").await;
    sign_up_and_verify_from_the_mail(&phone, &catcher, &email).await;

    // A second device, logged in with the same account.
    let laptop = Browser::open(&dir, base.clone(), "account-laptop").await;
    laptop.log_in(&email, "password123").await;
    laptop.goto("/me").await;
    laptop.wait("#change-password").await;
    change_the_password(&phone).await;
    laptop.visit("/me", "main h1", "로그인이 필요합니다").await;
    laptop.shot("04-logged-out-elsewhere").await;
    mailed_link(&catcher, &email, "비밀번호가 바뀌었습니다", 1).await;

    // Forgotten: reset from the mail.
    reset_the_password_from_the_mail(&phone, &catcher, &email).await;

    // The refund account, once the login is no longer fresh, needs the password again.
    phone.log_in(&email, "third password 3").await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    the_refund_account_asks_for_the_password_again(&phone).await;
}

async fn sign_up_and_verify_from_the_mail(
    phone: &Browser,
    catcher: &stack::MailCatcher,
    email: &str,
) {
    phone.goto("/signup").await;
    phone
        .send_form(
            "main form",
            &[
                ("name", "이메일"),
                ("email", email),
                ("password", "password123"),
                ("phone", "010-2222-3333"),
                ("agree_terms", "on"),
                ("agree_privacy", "on"),
            ],
        )
        .await;
    phone.wait("nav button").await;
    phone
        .visit("/me", "#verify-banner", "이메일 주소를 확인해 주세요")
        .await;
    phone.shot("01-unverified").await;

    let verify = mailed_link(catcher, email, "이메일 주소를 확인해 주세요", 1).await;
    assert!(verify.starts_with("/verify-email#t="), "{verify}");
    phone
        .visit(&verify, "#email-verified", "확인했습니다")
        .await;
    assert_eq!(phone.path().await, "/verify-email");
    phone.shot("02-verified").await;
    phone.goto("/me").await;
    phone.wait("#change-password form").await;
    assert!(phone.c.find(Locator::Css("#verify-banner")).await.is_err());
}

async fn change_the_password(phone: &Browser) {
    phone
        .send_form(
            "#change-password form",
            &[
                ("current_password", "password123"),
                ("new_password", "second password 2"),
            ],
        )
        .await;
    phone.wait_text("#password-changed", "바꿨습니다").await;
    phone.shot("03-password-changed").await;
}

async fn reset_the_password_from_the_mail(
    phone: &Browser,
    catcher: &stack::MailCatcher,
    email: &str,
) {
    phone.log_out().await;
    phone.goto("/login").await;
    phone.tap("main a[href='/forgot-password']").await;
    phone.send_form("main form", &[("email", email)]).await;
    phone
        .wait_text("#reset-sent", "재설정 링크를 보냈습니다")
        .await;
    phone.shot("05-reset-sent").await;
    let reset = mailed_link(catcher, email, "비밀번호 재설정", 1).await;
    assert!(reset.starts_with("/reset-password#t="), "{reset}");
    phone.goto(&reset).await;
    phone
        .send_form(
            "main form",
            &[
                ("password", "third password 3"),
                ("confirm", "third password 3"),
            ],
        )
        .await;
    phone
        .wait_text("#password-reset", "새 비밀번호로 로그인")
        .await;
    phone.shot("06-reset-done").await;
    // The link was spent.
    phone.goto(&reset).await;
    phone
        .send_form(
            "main form",
            &[
                ("password", "fourth password"),
                ("confirm", "fourth password"),
            ],
        )
        .await;
    phone
        .wait_text("main .error", "만료되었거나 이미 사용")
        .await;
}

async fn the_refund_account_asks_for_the_password_again(phone: &Browser) {
    phone.goto("/me").await;
    phone.wait("#change-password form").await;
    let forms = phone.c.find_all(Locator::Css("main form")).await.unwrap();
    let mut bank_form = None;
    for f in forms {
        if f.find(Locator::Css("[name=account_number]")).await.is_ok() {
            bank_form = Some(f);
        }
    }
    let bank_form = bank_form.expect("the refund account form");
    phone
        .fill(
            &bank_form,
            &[("bank_name", "신한"), ("account_number", "110-123-456789")],
        )
        .await;
    phone.submit(&bank_form).await;
    let dialog = phone.wait("dialog#reauth form").await;
    phone.shot("07-reauth").await;
    phone
        .fill(&dialog, &[("password", "third password 3")])
        .await;
    phone.submit(&dialog).await;
    phone.wait_text("main", "신한 ***-***-**6789").await;
    phone.shot("08-account-saved").await;
}
