//! The reminder pass of the local stack: `was remind` (due-soon and overdue mails, the
//! Monday digest) run as a child process now and then every `REMIND_EVERY` seconds, as
//! EventBridge Scheduler starts it hourly in AWS and the `remind` service loops it in
//! compose. Each pass is a fresh process with a replica's settings; its output goes to
//! the stack's log directory. A pass that fails (or a `was` without the subcommand) is
//! logged there and the next one runs all the same: the WAS sends each mail once, so a
//! later pass makes up for a failed one.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::{Process, Spec};

/// The variable that sets the interval, in seconds.
pub const VAR: &str = "REMIND_EVERY";
/// Once an hour, as in AWS and compose.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(3600);

/// The interval `REMIND_EVERY` asks for: whole seconds, 3600 when unset, `None` for 0
/// (no reminder passes). Anything else is refused with the variable's name.
pub fn every(value: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(value) = value.map(str::trim) else {
        return Ok(Some(DEFAULT_EVERY));
    };
    match value.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(seconds) => Ok(Some(Duration::from_secs(seconds))),
        Err(_) => Err(format!(
            "{VAR}={value:?}: seconds between reminder passes (a whole number; 0 turns them off)"
        )),
    }
}

/// The passes, on their own thread until [`Reminders::stop`] (or drop).
pub struct Reminders {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What to run for a pass: the program and its arguments (`was remind`), its settings,
/// and the log its output is appended to.
#[derive(Clone)]
pub struct Pass {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

impl Pass {
    /// `was remind` with the settings of a WAS replica (see `Stack::was_env`).
    pub fn was_remind(was: &Path, env: Vec<(String, String)>, log: PathBuf) -> Self {
        Self {
            program: was.to_path_buf(),
            args: vec!["remind".into()],
            env,
            log,
        }
    }
}

enum Outcome {
    Exited(Option<ExitStatus>),
    Stopped,
}

impl Reminders {
    /// Runs `pass` now, then `every` after each one ends (a pass never overlaps the
    /// next).
    pub fn start(pass: Pass, every: Duration) -> Self {
        let (stop, stopped) = mpsc::channel();
        let log = pass.log.clone();
        let thread = std::thread::Builder::new()
            .name("remind".into())
            .spawn(move || run(&pass, every, &stopped))
            .ok();
        if thread.is_none() {
            note(
                &log,
                "could not start the reminder thread; no passes will run",
            );
        }
        Self {
            stop: Some(stop),
            thread,
        }
    }

    /// Ends the passes: one running is asked to stop (then killed), none starts again.
    pub fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Reminders {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(pass: &Pass, every: Duration, stopped: &Receiver<()>) {
    loop {
        match run_once(pass, stopped) {
            Outcome::Stopped => return,
            Outcome::Exited(Some(status)) if status.success() => {}
            Outcome::Exited(status) => {
                let how = status.map_or_else(
                    || "could not be started".to_owned(),
                    |s| format!("failed ({s})"),
                );
                note(
                    &pass.log,
                    &format!(
                        "was remind {how}; the next pass runs in {} s",
                        every.as_secs()
                    ),
                );
                eprintln!("==> was remind {how}; see {}", pass.log.display());
            }
        }
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn run_once(pass: &Pass, stopped: &Receiver<()>) -> Outcome {
    let mut spec = Spec::new("remind", &pass.program)
        .args(pass.args.iter().cloned())
        .log(pass.log.clone());
    for (k, v) in &pass.env {
        spec = spec.env(k.clone(), v.clone());
    }
    let mut process = match Process::spawn(spec) {
        Ok(p) => p,
        Err(e) => {
            note(
                &pass.log,
                &format!("cannot start {}: {e}", pass.program.display()),
            );
            return Outcome::Exited(None);
        }
    };
    while process.is_running() {
        match stopped.try_recv() {
            // Dropping the process stops it (its stop signal, then SIGKILL).
            Ok(()) | Err(TryRecvError::Disconnected) => return Outcome::Stopped,
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Outcome::Exited(process.exit_status())
}

/// A line of the launcher's own in the pass's log, between the passes' JSON lines.
fn note(log: &Path, message: &str) {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(file, "cargo stack (unix time {seconds}): {message}");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn remind_every_defaults_to_an_hour_zero_turns_it_off_and_nonsense_names_the_variable() {
        assert_eq!(every(None), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(every(Some("90")), Ok(Some(Duration::from_secs(90))));
        assert_eq!(every(Some(" 5 ")), Ok(Some(Duration::from_secs(5))));
        assert_eq!(every(Some("0")), Ok(None));
        for bad in ["", "1h", "-5", "1.5"] {
            let e = every(Some(bad)).expect_err(bad);
            assert!(e.contains("REMIND_EVERY"), "{e}");
        }
    }

    /// A stand-in for `was remind` that records each run and fails: the passes go on.
    #[test]
    fn a_failing_pass_is_logged_and_the_next_still_runs() {
        let dir = crate::TempDir::new("remind-test").expect("temp dir");
        let runs = dir.path().join("runs");
        let log = dir.path().join("remind.log");
        let pass = Pass {
            program: PathBuf::from("sh"),
            args: vec![
                "-c".into(),
                format!("echo \"$REMIND_TEST\" >> '{}'; exit 3", runs.display()),
            ],
            env: vec![("REMIND_TEST".into(), "ran".into())],
            log: log.clone(),
        };
        let mut reminders = Reminders::start(pass, Duration::from_millis(50));
        let started = Instant::now();
        let count = || {
            std::fs::read_to_string(&runs)
                .map(|s| s.lines().filter(|l| *l == "ran").count())
                .unwrap_or(0)
        };
        while count() < 3 && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        reminders.stop();
        assert!(count() >= 3, "only {} passes ran", count());
        let logged = std::fs::read_to_string(&log).expect("the log");
        assert!(logged.contains("was remind failed"), "{logged}");
        assert!(logged.contains("exit status: 3"), "{logged}");
    }

    #[test]
    fn stopping_ends_a_pass_in_progress() {
        let dir = crate::TempDir::new("remind-test").expect("temp dir");
        let pass = Pass {
            program: PathBuf::from("sleep"),
            args: vec!["60".into()],
            env: Vec::new(),
            log: dir.path().join("remind.log"),
        };
        let mut reminders = Reminders::start(pass, DEFAULT_EVERY);
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        reminders.stop();
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "took {:?}",
            started.elapsed()
        );
    }
}
