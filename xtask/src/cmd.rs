//! Running external commands with a time limit, optionally inside a network namespace, and
//! showing them as a shell command line.

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

static ECHO: AtomicBool = AtomicBool::new(false);

/// Makes every command print itself (`  $ cmd`) before it runs.
pub fn set_echo(on: bool) {
    ECHO.store(on, Ordering::Relaxed);
}

/// Whether commands print themselves.
pub fn echo() -> bool {
    ECHO.load(Ordering::Relaxed)
}

/// The default time limit of a command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// A command line: program, arguments, extra environment, and the namespace to run it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    netns: Option<String>,
    timeout: Duration,
    quiet: bool,
}

/// What a finished command printed, and how it ended.
#[derive(Debug)]
pub struct Out {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Out {
    /// Standard output and standard error together (for showing a failure).
    pub fn both(&self) -> String {
        let mut s = self.stdout.trim_end().to_owned();
        if !self.stderr.trim().is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(self.stderr.trim_end());
        }
        s
    }
}

impl Cmd {
    /// `program` with no arguments.
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            netns: None,
            timeout: DEFAULT_TIMEOUT,
            quiet: false,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_string_lossy().into_owned());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.args.push(a.as_ref().to_string_lossy().into_owned());
        }
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, k: impl Into<String>, v: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((k.into(), v.as_ref().to_string_lossy().into_owned()));
        self
    }

    /// Runs the command inside the named network namespace (`ip netns exec NS ...`).
    pub fn netns(mut self, ns: impl Into<String>) -> Cmd {
        self.netns = Some(ns.into());
        self
    }

    /// Sets the time limit.
    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = t;
        self
    }

    /// Runs the program under `nice -n <n>` (no change for 0).
    pub fn niced(mut self, n: i32) -> Cmd {
        if n != 0 {
            let mut args = vec!["-n".to_owned(), n.to_string(), self.program];
            args.append(&mut self.args);
            self.program = "nice".into();
            self.args = args;
        }
        self
    }

    /// Never echoes this command (for polling and cleanup).
    pub fn quiet(mut self) -> Cmd {
        self.quiet = true;
        self
    }

    /// The command as a shell line: `[ip netns exec NS] [env K=V ...] program args...`.
    pub fn display(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        if let Some(ns) = &self.netns {
            words.extend(["ip", "netns", "exec"].map(String::from));
            words.push(ns.clone());
            if !self.env.is_empty() {
                words.push("env".into());
            }
        }
        for (k, v) in &self.env {
            words.push(format!("{k}={}", shell_quote(v)));
        }
        words.push(shell_quote(&self.program));
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        words.join(" ")
    }

    fn command(&self) -> Command {
        let mut c = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]);
                if !self.env.is_empty() {
                    c.arg("env");
                    for (k, v) in &self.env {
                        c.arg(format!("{k}={v}"));
                    }
                }
                c.arg(&self.program);
                c
            }
            None => {
                let mut c = Command::new(&self.program);
                c.envs(self.env.iter().map(|(k, v)| (k, v)));
                c
            }
        };
        c.args(&self.args);
        c
    }

    fn show(&self) {
        if echo() && !self.quiet {
            println!("  $ {}", self.display());
        }
    }

    /// Starts the command with standard input closed and the given output handling.
    ///
    /// # Errors
    ///
    /// If it cannot start.
    pub fn spawn_with(&self, stdout: Stdio, stderr: Stdio) -> Result<Child> {
        self.show();
        self.command()
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", self.display()))
    }

    /// Runs the command to the end (killing it at the time limit) and returns its output,
    /// whatever its exit status.
    ///
    /// # Errors
    ///
    /// If it cannot start or runs past its time limit.
    pub fn output(&self) -> Result<Out> {
        let mut child = self.spawn_with(Stdio::piped(), Stdio::piped())?;
        let rx_out = reader(child.stdout.take());
        let rx_err = reader(child.stderr.take());
        let status = wait_timeout(&mut child, self.timeout)
            .with_context(|| format!("{} (time limit {:?})", self.display(), self.timeout))?;
        // A daemon that the command left running may hold the pipes open: don't wait for it.
        let grace = Duration::from_millis(500);
        let stdout = rx_out.recv_timeout(grace).unwrap_or_default();
        let stderr = rx_err.recv_timeout(grace).unwrap_or_default();
        Ok(Out {
            status,
            stdout,
            stderr,
        })
    }

    /// Runs the command and fails, with its output, unless it exits with status 0.
    ///
    /// # Errors
    ///
    /// If it cannot start, runs too long or fails.
    pub fn run(&self) -> Result<Out> {
        let out = self.output()?;
        if !out.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                self.display(),
                out.status,
                out.both().trim()
            );
        }
        Ok(out)
    }

    /// Runs the command, printing its output indented when echoing; fails unless status 0.
    ///
    /// # Errors
    ///
    /// As [`Cmd::run`].
    pub fn run_shown(&self) -> Result<Out> {
        let out = self.output()?;
        print_indented(&out.both());
        if !out.status.success() {
            bail!("`{}` failed ({})", self.display(), out.status);
        }
        Ok(out)
    }
}

/// Prints `text` with every line indented by four spaces.
pub fn print_indented(text: &str) {
    for line in text.lines() {
        println!("    {line}");
    }
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut p) = pipe {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
    }
    rx
}

/// Waits for `child` at most `limit`, then kills it.
///
/// # Errors
///
/// If waiting fails or the time limit passed (the child is killed and reaped).
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Result<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(st);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Quotes `s` for a POSIX shell when it has characters the shell would interpret.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_wraps_in_netns() {
        let c = Cmd::new("ovs-appctl")
            .env("OVS_RUNDIR", "/tmp/x y")
            .args(["fdb/show", "br0"])
            .netns("ns1");
        assert_eq!(
            c.display(),
            "ip netns exec ns1 env OVS_RUNDIR='/tmp/x y' ovs-appctl fdb/show br0"
        );
        let c = Cmd::new("iperf3").arg("-s").netns("h2").niced(-10);
        assert_eq!(c.display(), "ip netns exec h2 nice -n -10 iperf3 -s");
        assert_eq!(Cmd::new("x").niced(0).display(), "x");
        let c = Cmd::new("sh").args(["-c", "echo 2 > f; it's"]);
        assert_eq!(c.display(), r"sh -c 'echo 2 > f; it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn output_run_and_timeout() {
        let out = Cmd::new("sh")
            .args(["-c", "echo hi; echo err >&2"])
            .run()
            .unwrap();
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(out.both(), "hi\nerr");
        let e = Cmd::new("sh").args(["-c", "exit 3"]).run().unwrap_err();
        assert!(e.to_string().contains("failed"), "{e}");
        let t = Instant::now();
        let e = Cmd::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(200))
            .output()
            .unwrap_err();
        assert!(format!("{e:#}").contains("timed out"), "{e:#}");
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
