//! A mail catcher on loopback (maildev): the SMTP server the WAS sends to locally, and a
//! web page (with a JSON API, `GET /email`) where a person or a test reads what was sent.
//!
//! maildev is an npm package; `scripts/test-deps.sh` (and `cargo stack`) install the pinned
//! version under `target/tools/maildev`. `MAILDEV` names another executable.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{Process, Spec};

/// The pinned version, installed with `npm install --prefix target/tools/maildev`.
pub const MAILDEV_VERSION: &str = "2.2.1";

pub struct MailCatcher {
    pub smtp_port: u16,
    pub web_port: u16,
    process: Option<Process>,
}

/// Where the installed maildev is: `MAILDEV`, else `target/tools/maildev` of the
/// workspace holding this crate.
pub fn maildev_program() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MAILDEV") {
        return Some(PathBuf::from(p));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let installed = workspace.join("target/tools/maildev/node_modules/.bin/maildev");
    installed.exists().then_some(installed)
}

impl MailCatcher {
    /// Starts maildev on free loopback ports, logging to `log_dir/maildev.log`, and waits
    /// until its web API answers.
    pub fn start(log_dir: &Path) -> io::Result<Self> {
        let program = maildev_program().ok_or_else(|| {
            io::Error::other(format!(
                "maildev not found: run scripts/test-deps.sh, or `npm install --prefix target/tools/maildev maildev@{MAILDEV_VERSION}`"
            ))
        })?;
        let smtp_port = crate::free_port()?;
        let web_port = crate::free_port()?;
        let spec = Spec::new("maildev", &program)
            .args([
                "--smtp".to_owned(),
                smtp_port.to_string(),
                "--web".to_owned(),
                web_port.to_string(),
                "--ip".to_owned(),
                "127.0.0.1".to_owned(),
                "--silent".to_owned(),
            ])
            .log(log_dir.join("maildev.log"));
        let process = Process::spawn(spec)?;
        let web = SocketAddr::from((Ipv4Addr::LOCALHOST, web_port));
        crate::wait_http_ok(web, "/email", Duration::from_secs(30)).map_err(io::Error::other)?;
        Ok(Self {
            smtp_port,
            web_port,
            process: Some(process),
        })
    }

    /// What the WAS's `SMTP_URL` is set to.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// The page where the mail sent is read (and its JSON API under `/email`).
    pub fn web_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.web_port)
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(5));
        }
    }
}

impl Drop for MailCatcher {
    fn drop(&mut self) {
        self.stop();
    }
}
