//! Mail in tests: the shared mail catcher, a WAS that sends to it, the mails a renter got
//! and the links in them, and the SES emulator.

use super::*;

/// The mail catcher every test binary shares (maildev on loopback), started on first use.
static MAIL: OnceCell<(stack::MailCatcher, TempDir)> = OnceCell::const_new();

pub async fn mail_catcher() -> &'static stack::MailCatcher {
    let (catcher, _) = MAIL
        .get_or_init(|| async {
            let dir = TempDir::new("upbrella-mail").expect("temp dir");
            let path = dir.path().to_owned();
            let catcher = tokio::task::spawn_blocking(move || stack::MailCatcher::start(&path))
                .await
                .expect("join")
                .expect("start the mail catcher (maildev; scripts/test-deps.sh installs it)");
            (catcher, dir)
        })
        .await;
    catcher
}

/// What a WAS needs to send mail to the catcher; links point at `http://upbrella.test`.
pub async fn mail_env() -> Vec<(String, String)> {
    let catcher = mail_catcher().await;
    vec![
        ("MAIL_TRANSPORT".into(), "smtp".into()),
        ("SMTP_URL".into(), catcher.smtp_url()),
        (
            "MAIL_FROM".into(),
            "우산대여 upbrella <no-reply@upbrella.test>".into(),
        ),
        ("PUBLIC_URL".into(), "http://upbrella.test".into()),
    ]
}

/// A WAS that sends mail to the catcher, with extra settings.
pub async fn spawn_app_with_mail(overrides: &[(&str, &str)]) -> TestApp {
    let env = mail_env().await;
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(overrides);
    spawn_app_with(&all).await
}

/// The mails the catcher holds for `to`, oldest first.
pub async fn mails_to(to: &str) -> Vec<Value> {
    let web = mail_catcher().await.web_url();
    let all: Vec<Value> = reqwest::get(format!("{web}/email"))
        .await
        .expect("mail catcher")
        .json()
        .await
        .expect("mail list");
    all.into_iter()
        .filter(|m| {
            m["to"]
                .as_array()
                .is_some_and(|t| t.iter().any(|a| a["address"].as_str() == Some(to)))
        })
        .collect()
}

/// Waits (up to 15 s) until `to` has received `count` mails whose subject contains
/// `subject`; returns the newest.
pub async fn wait_for_mail(to: &str, subject: &str, count: usize) -> Value {
    let started = std::time::Instant::now();
    loop {
        let found: Vec<Value> = mails_to(to)
            .await
            .into_iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject)))
            .collect();
        if found.len() >= count {
            return found.last().cloned().expect("a mail");
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no mail {subject:?} #{count} to {to}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The token of the link in a mail (`…#t=TOKEN`), checked in both its parts.
pub fn token_in(mail: &Value) -> String {
    let text = mail["text"].as_str().expect("plain text part");
    let html = mail["html"].as_str().expect("HTML part");
    let at = text.find("#t=").expect("a link with a token") + 3;
    let token: String = text[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{text}");
    assert!(html.contains(&token), "the HTML part has the same link");
    token
}

/// A client whose connections come from `ip` (any of 127.0.0.0/8): another address to
/// the WAS, for the limits counted per client address.
pub fn client_from(ip: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<std::net::IpAddr>().expect("address"))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// moto (the AWS emulator) on a loopback port for one test: the process (stopped when
/// dropped), its directory and its URL.
pub fn start_moto(name: &str) -> (stack::process::Process, TempDir, String) {
    let path = stack::topology::workspace_root().join("target/tools/venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto_server is missing at {}: run scripts/test-deps.sh (it installs the tools venv \
         with moto[server] from scripts/requirements-tools.txt)",
        path.display()
    );
    let dir = TempDir::new(name).expect("temp dir");
    let port = stack::free_port().expect("port");
    let moto = stack::process::Process::spawn(
        stack::process::Spec::new("moto", &path)
            .args([
                "-H".to_owned(),
                "127.0.0.1".to_owned(),
                "-p".to_owned(),
                port.to_string(),
            ])
            .log(dir.path().join("moto.log")),
    )
    .expect("start moto");
    stack::wait_http_ok(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        "/moto-api/data.json",
        Duration::from_secs(30),
    )
    .expect("moto answers");
    (moto, dir, format!("http://127.0.0.1:{port}"))
}
