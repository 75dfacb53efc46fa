//! A child process that cannot outlive us.
//!
//! The child is started by a guardian `sh` that holds the read end of a pipe whose write
//! end only we hold. When we exit (normally, by panic, or by SIGKILL) the kernel closes
//! the write end, the guardian reads EOF and stops the child. `PR_SET_PDEATHSIG` would
//! need unsafe code and fires when the spawning *thread* exits, which in an async test
//! runtime is far too early.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, kill_process};

pub use rustix::process::Signal;

const GUARDIAN: &str = r#"
exec 3<&0
"$@" 3<&- </dev/null >&2 &
pid=$!
echo "$pid"
( cat <&3 >/dev/null 2>&1; kill -s "$STOP_SIGNAL" "$pid" 2>/dev/null; sleep 10; kill -s KILL "$pid" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

pub struct Process {
    name: String,
    pid: Pid,
    guardian: Child,
    lifeline: Option<ChildStdin>,
    log: Option<PathBuf>,
    stop_signal: Signal,
}

/// What to start.
pub struct Spec<'a> {
    pub name: &'a str,
    pub program: &'a Path,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr go (appended); `None` discards them.
    pub log: Option<PathBuf>,
    /// Run as this user (via `setpriv`), for PostgreSQL, which refuses to run as root.
    pub user: Option<&'a str>,
    /// The signal that asks the program to stop cleanly.
    pub stop_signal: Signal,
}

impl<'a> Spec<'a> {
    pub fn new(name: &'a str, program: &'a Path) -> Self {
        Self {
            name,
            program,
            args: Vec::new(),
            env: Vec::new(),
            log: None,
            user: None,
            stop_signal: Signal::TERM,
        }
    }

    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn log(mut self, path: PathBuf) -> Self {
        self.log = Some(path);
        self
    }
}

fn signal_name(s: Signal) -> &'static str {
    match s {
        Signal::INT => "INT",
        Signal::QUIT => "QUIT",
        Signal::KILL => "KILL",
        _ => "TERM",
    }
}

impl Process {
    pub fn spawn(spec: Spec<'_>) -> io::Result<Self> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(GUARDIAN).arg("guardian");
        if let Some(user) = spec.user {
            cmd.arg("setpriv")
                .arg(format!("--reuid={user}"))
                .arg(format!("--regid={user}"))
                .arg("--init-groups")
                .arg("--");
        }
        cmd.arg(spec.program).args(&spec.args);
        cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
        cmd.env("STOP_SIGNAL", signal_name(spec.stop_signal));
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        match &spec.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                cmd.stderr(file);
            }
            None => {
                cmd.stderr(Stdio::null());
            }
        }
        // Own process group: a Ctrl-C in the terminal reaches the launcher only.
        cmd.process_group(0);
        let mut guardian = cmd.spawn()?;
        let stdout = guardian
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no guardian stdout"))?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let raw: i32 = line.trim().parse().map_err(|_| {
            io::Error::other(format!(
                "guardian of {} did not report a pid: {line:?}",
                spec.name
            ))
        })?;
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::other("invalid pid"))?;
        // Only the pid comes through the pipe: the child's stdout goes straight to the log
        // with its stderr (`>&2` above). Sharing the pipe let a fast child's first log
        // line arrive before the pid under load.
        let lifeline = guardian.stdin.take();
        Ok(Self {
            name: spec.name.to_owned(),
            pid,
            guardian,
            lifeline,
            log: spec.log,
            stop_signal: spec.stop_signal,
        })
    }

    /// A guardian with no child of note: removes `dir` when this process dies.
    pub fn janitor(dir: &Path) -> io::Result<Self> {
        let script = format!(
            "cat >/dev/null 2>&1; rm -rf '{}'",
            dir.display().to_string().replace('\'', "")
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.process_group(0);
        let mut guardian = cmd.spawn()?;
        let pid = Pid::from_raw(i32::try_from(guardian.id()).unwrap_or(0))
            .ok_or_else(|| io::Error::other("invalid pid"))?;
        let lifeline = guardian.stdin.take();
        Ok(Self {
            name: "janitor".into(),
            pid,
            guardian,
            lifeline,
            log: None,
            stop_signal: Signal::TERM,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        kill_process(self.pid, signal).map_err(io::Error::from)
    }

    /// SIGSTOP: the process keeps its sockets open but answers nothing, like a thrashing
    /// or deadlocked server.
    pub fn pause(&self) -> io::Result<()> {
        self.signal(Signal::STOP)
    }

    pub fn resume(&self) -> io::Result<()> {
        self.signal(Signal::CONT)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.guardian.try_wait(), Ok(None))
    }

    /// How the process exited, once it has (the guardian exits with its status).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.guardian.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to exit; returns whether it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if !self.is_running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Asks the process to stop with its stop signal, then kills it after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let _ = self.signal(Signal::CONT);
        let _ = self.signal(self.stop_signal);
        if !self.wait_exit(grace) {
            tracing::warn!(name = %self.name, "did not stop in time; killing");
            self.kill();
        }
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.signal(Signal::KILL);
        let _ = self.guardian.wait();
    }

    /// The last `lines` lines of the process's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let Some(path) = &self.log else {
            return String::new();
        };
        let Ok(mut f) = File::open(path) else {
            return String::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
        let mut text = String::new();
        let _ = f.read_to_string(&mut text);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.is_running() && self.name != "janitor" {
            self.stop(Duration::from_secs(5));
        }
        // Closing the lifeline lets the guardian (and a janitor) finish.
        drop(self.lifeline.take());
        let _ = self.guardian.wait();
    }
}

fn status_kib(pid: i32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resident memory of a process now, in KiB (0 when it is gone).
pub fn rss_kib(pid: i32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory a process has had, in KiB (0 when it is gone).
pub fn peak_rss_kib(pid: i32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// Raises this process's open-file limit to its hard limit (children inherit it), for
/// tests that hold thousands of connections; returns the limit now in force.
pub fn raise_open_files_limit() -> io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}
