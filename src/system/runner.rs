//! The one way the product runs a program: an argument vector (never a shell), an absolute path
//! resolved under the root, a cleared environment, a deadline, capped output, and its own process
//! group so that the whole tree dies at the deadline. uhttpd's script timeout SIGKILLs only the CGI,
//! so a hung child would otherwise outlive us (DESIGN §3).

use super::Root;
use crate::error::ApiError;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Cmd {
    /// Absolute router path, e.g. `/sbin/ip`.
    pub program: &'static str,
    pub args: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub deadline: Duration,
    pub stdout_cap: usize,
    pub stderr_cap: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    Spawn(String),
    Timeout,
    OutputTooLarge,
    Io(String),
}

impl Cmd {
    pub fn new(program: &'static str, args: &[&str]) -> Cmd {
        Cmd {
            program,
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            deadline: Duration::from_secs(2),
            stdout_cap: 1 << 20,
            stderr_cap: 16 << 10,
        }
    }
    pub fn arg(mut self, a: impl Into<String>) -> Cmd {
        self.args.push(a.into());
        self
    }
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }
    pub fn deadline(mut self, d: Duration) -> Cmd {
        self.deadline = d;
        self
    }
    pub fn stdout_cap(mut self, n: usize) -> Cmd {
        self.stdout_cap = n;
        self
    }
    /// `program arg…` for messages and logs.
    pub fn display(&self) -> String {
        std::iter::once(self.program)
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "cannot start: {e}"),
            RunError::Timeout => write!(f, "killed at its deadline"),
            RunError::OutputTooLarge => write!(f, "output too large"),
            RunError::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Starts `cmd` the one way every command starts: absolute program under `root`, argv, a wiped
/// environment (fixed PATH, C locale), its own process group (so a deadline kills all of it),
/// stdout and stderr piped, stdin piped only when the caller writes to it.
fn spawn(root: &Root, cmd: &Cmd, stdin: bool) -> Result<std::process::Child, RunError> {
    let mut command = std::process::Command::new(root.path(cmd.program));
    command
        .args(&cmd.args)
        .env_clear()
        .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
        .env("LC_ALL", "C")
        .process_group(0)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !root.is_system() {
        // Doubles under a test root find their state through it.
        command.env(super::ROOT_ENV, root.base());
    }
    command.spawn().map_err(|e| RunError::Spawn(e.to_string()))
}

/// Runs `cmd` and returns its output whatever its exit code.
pub fn run(root: &Root, cmd: &Cmd) -> Result<Output, RunError> {
    let mut child = spawn(root, cmd, cmd.stdin.is_some())?;
    let pgid = Pid::from_raw(child.id() as i32);
    let start = Instant::now();
    let result = collect(&mut child, cmd, start);
    if result.is_err() {
        let _ = killpg(pgid, Signal::SIGKILL);
    }
    // The pipes may be closed while the child keeps running (a daemon-like `ubus`, an init script
    // that redirects its output): the deadline still holds for the wait itself.
    let status = wait_until(
        &mut child,
        pgid,
        cmd.deadline.saturating_sub(start.elapsed()),
    );
    // Stragglers that kept running after the leader exited die with the group too.
    let _ = killpg(pgid, Signal::SIGKILL);
    let (stdout, stderr) = result?;
    let status = status?;
    Ok(Output {
        code: status.code(),
        stdout,
        stderr,
    })
}

/// Runs `cmd` and requires exit status 0; errors carry the command and its stderr.
pub fn run_ok(root: &Root, cmd: &Cmd) -> Result<Output, ApiError> {
    match run(root, cmd) {
        Ok(out) if out.success() => Ok(out),
        Ok(out) => Err(ApiError::internal(format!(
            "{} failed (exit {}): {}",
            cmd.display(),
            out.code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
        Err(e) => Err(ApiError::internal(format!("{}: {e}", cmd.display()))),
    }
}

/// Waits for the child at most `left`; past it the whole group is killed and the wait is
/// `Timeout` (the kill is immediate, so the final wait cannot hang).
fn wait_until(
    child: &mut Child,
    pgid: Pid,
    left: Duration,
) -> Result<std::process::ExitStatus, RunError> {
    let end = Instant::now() + left;
    let mut nap = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Ok(s),
            Ok(None) => {}
            Err(e) => return Err(RunError::Io(e.to_string())),
        }
        let now = Instant::now();
        if now >= end {
            let _ = killpg(pgid, Signal::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout);
        }
        std::thread::sleep(nap.min(end - now));
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

fn collect(child: &mut Child, cmd: &Cmd, start: Instant) -> Result<(Vec<u8>, Vec<u8>), RunError> {
    if let (Some(data), Some(mut stdin)) = (&cmd.stdin, child.stdin.take()) {
        // Inputs are small (uci batch scripts): they fit the pipe buffer, so this cannot block long.
        stdin
            .write_all(data)
            .map_err(|e| RunError::Io(e.to_string()))?;
    }
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| RunError::Io("no stdout pipe".into()))?;
    let mut err = child
        .stderr
        .take()
        .ok_or_else(|| RunError::Io("no stderr pipe".into()))?;
    let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
    let (mut out_open, mut err_open) = (true, true);
    let mut chunk = [0u8; 8192];
    while out_open || err_open {
        let left = cmd
            .deadline
            .checked_sub(start.elapsed())
            .ok_or(RunError::Timeout)?;
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let (out_ready, err_ready) = {
            let mut fds = Vec::with_capacity(2);
            if out_open {
                fds.push(PollFd::new(out.as_fd(), PollFlags::POLLIN));
            }
            if err_open {
                fds.push(PollFd::new(err.as_fd(), PollFlags::POLLIN));
            }
            let n = poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            )
            .map_err(|e| RunError::Io(e.to_string()))?;
            if n == 0 {
                return Err(RunError::Timeout);
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            let mut it = fds.iter();
            let o = if out_open {
                it.next().is_some_and(ready)
            } else {
                false
            };
            let e = if err_open {
                it.next().is_some_and(ready)
            } else {
                false
            };
            (o, e)
        };
        if out_ready {
            out_open = pump(&mut out, &mut out_buf, &mut chunk, cmd.stdout_cap)?;
        }
        if err_ready {
            // stderr overflow is not fatal: keep the head, drop the rest.
            let mut sink = Vec::new();
            let target = if err_buf.len() < cmd.stderr_cap {
                &mut err_buf
            } else {
                &mut sink
            };
            err_open = pump(&mut err, target, &mut chunk, usize::MAX)?;
            err_buf.truncate(cmd.stderr_cap);
        }
    }
    Ok((out_buf, err_buf))
}

/// One read; `Ok(false)` at EOF.
fn pump(
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
    cap: usize,
) -> Result<bool, RunError> {
    match r.read(chunk) {
        Ok(0) => Ok(false),
        Ok(n) => {
            if buf.len() + n > cap {
                return Err(RunError::OutputTooLarge);
            }
            buf.extend_from_slice(&chunk[..n]);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(true),
        Err(e) => Err(RunError::Io(e.to_string())),
    }
}

/// Bytes moved so far by a [`stream`]ed command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flow {
    /// Written to its stdin.
    pub fed: u64,
    /// Read from its stdout (counted, then dropped).
    pub drained: u64,
}

/// What a [`stream`]ed command left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOutput {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    pub flow: Flow,
    pub stderr: Vec<u8>,
    /// `on_tick` asked to stop: the process group was killed.
    pub stopped: bool,
}

/// Runs `cmd` for a bulk transfer (the speed test): `feed` zero bytes are written to its stdin
/// (then stdin is closed), its stdout is counted and dropped, its stderr kept up to the cap.
/// `on_tick` sees the counts about every `tick` and returns false to stop the command at once
/// (its whole process group is killed). The deadline holds as in [`run`]. Nothing is buffered
/// beyond one 64 KiB chunk, whatever the size.
pub fn stream(
    root: &Root,
    cmd: &Cmd,
    feed: u64,
    tick: Duration,
    on_tick: &mut dyn FnMut(Flow) -> bool,
) -> Result<StreamOutput, RunError> {
    let mut child = spawn(root, cmd, feed > 0)?;
    let pgid = Pid::from_raw(child.id() as i32);
    let start = Instant::now();
    let result = pump_stream(&mut child, cmd, feed, tick, on_tick, start);
    if !matches!(result, Ok((_, _, false))) {
        let _ = killpg(pgid, Signal::SIGKILL);
    }
    let status = wait_until(
        &mut child,
        pgid,
        cmd.deadline.saturating_sub(start.elapsed()),
    );
    let _ = killpg(pgid, Signal::SIGKILL);
    let (flow, stderr, stopped) = result?;
    let status = status?;
    Ok(StreamOutput {
        code: status.code(),
        flow,
        stderr,
        stopped,
    })
}

fn pump_stream(
    child: &mut Child,
    cmd: &Cmd,
    feed: u64,
    tick: Duration,
    on_tick: &mut dyn FnMut(Flow) -> bool,
    start: Instant,
) -> Result<(Flow, Vec<u8>, bool), RunError> {
    use std::os::fd::AsRawFd;
    let mut stdin = child.stdin.take();
    if let Some(s) = &stdin {
        // Non-blocking: a full pipe must not keep us from draining stdout or ticking.
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let fl = libc::fcntl(s.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(s.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| RunError::Io("no stdout pipe".into()))?;
    let mut err = child
        .stderr
        .take()
        .ok_or_else(|| RunError::Io("no stderr pipe".into()))?;
    let zeros = vec![0u8; 65536];
    let mut buf = vec![0u8; 65536];
    let mut flow = Flow::default();
    let mut err_buf = Vec::new();
    let (mut out_open, mut err_open) = (true, true);
    let mut next_tick = start + tick;
    while out_open || err_open {
        let now = Instant::now();
        let left = cmd
            .deadline
            .checked_sub(start.elapsed())
            .ok_or(RunError::Timeout)?;
        if now >= next_tick {
            next_tick = now + tick;
            if !on_tick(flow) {
                return Ok((flow, err_buf, true));
            }
        }
        let wait = left.min(next_tick.saturating_duration_since(now));
        let ms = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
        let (in_ready, out_ready, err_ready) = {
            let mut fds = Vec::with_capacity(3);
            if let Some(s) = &stdin {
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLOUT));
            }
            if out_open {
                fds.push(PollFd::new(out.as_fd(), PollFlags::POLLIN));
            }
            if err_open {
                fds.push(PollFd::new(err.as_fd(), PollFlags::POLLIN));
            }
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(RunError::Io(e.to_string())),
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            let mut it = fds.iter();
            let i = stdin.is_some() && it.next().is_some_and(ready);
            let o = out_open && it.next().is_some_and(ready);
            let e = err_open && it.next().is_some_and(ready);
            (i, o, e)
        };
        if in_ready {
            if let Some(s) = stdin.as_mut() {
                let want = (feed - flow.fed).min(zeros.len() as u64) as usize;
                match s.write(&zeros[..want]) {
                    Ok(n) => flow.fed += n as u64,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // The command stopped reading (it failed): its exit status says why.
                    Err(_) => stdin = None,
                }
            }
            if flow.fed >= feed {
                stdin = None;
            }
        }
        if out_ready {
            match out.read(&mut buf) {
                Ok(0) => out_open = false,
                Ok(n) => flow.drained += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RunError::Io(e.to_string())),
            }
        }
        if err_ready {
            let mut sink = Vec::new();
            let target = if err_buf.len() < cmd.stderr_cap {
                &mut err_buf
            } else {
                &mut sink
            };
            err_open = pump(&mut err, target, &mut buf, usize::MAX)?;
            err_buf.truncate(cmd.stderr_cap);
        }
    }
    Ok((flow, err_buf, false))
}
