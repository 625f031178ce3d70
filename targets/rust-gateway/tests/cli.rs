//! The `gateway` binary's start-up contract: one stderr line and exit
//! code 2 on bad input, a "listening on" line when ready, and a clean
//! exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gateway");

/// A scratch folder holding a one-worker roster, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rust-gateway-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("roster.jsonl"),
            "{\"candidate_id\": \"W-1\", \"name\": \"A\", \"city\": \"C\", \"state\": \"S\", \"role\": \"R\", \"available\": true}\n",
        )
        .unwrap();
        Self { dir }
    }

    fn roster(&self) -> PathBuf {
        self.dir.join("roster.jsonl")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn gateway(args: &[&str]) -> Command {
    let mut command = Command::new(GATEWAY);
    command.args(args);
    for var in common::GATEWAY_ENV {
        command.env_remove(var);
    }
    command
}

fn assert_startup_error(output: Output, needle: &str) {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let scratch = Scratch::new("flags");
    let roster = scratch.roster();
    let roster = roster.to_str().unwrap();
    assert_startup_error(gateway(&[]).output().unwrap(), "--roster");
    assert_startup_error(gateway(&["--roster", roster, "--bogus"]).output().unwrap(), "--bogus");
    assert_startup_error(
        gateway(&["--roster", roster, "--port", "http"]).output().unwrap(),
        "--port",
    );
    assert_startup_error(
        gateway(&["--roster", roster, "--upstream", "https://example.invalid"])
            .output()
            .unwrap(),
        "--upstream",
    );
    assert_startup_error(
        gateway(&["--roster", roster, "--upstream-timeout-ms", "0"])
            .output()
            .unwrap(),
        "--upstream-timeout-ms",
    );
    assert_startup_error(
        gateway(&["--roster", roster])
            .env("LAKEHOUSE_PORT", "-1")
            .output()
            .unwrap(),
        "--port",
    );
}

#[test]
fn bad_langfuse_flags_exit_2_with_one_line() {
    let scratch = Scratch::new("langfuse");
    let roster = scratch.roster();
    let roster = roster.to_str().unwrap();
    let keys = ["--langfuse-public-key", "pk", "--langfuse-secret-key", "sk"];
    for url in ["not a url", "https://cloud.langfuse.com", "file:///tmp/x"] {
        let mut args = vec!["--roster", roster, "--langfuse-url", url];
        args.extend(keys);
        assert_startup_error(gateway(&args).output().unwrap(), "--langfuse-url");
    }
    assert_startup_error(
        gateway(&["--roster", roster, "--langfuse-url", "http://127.0.0.1:3000"])
            .env("LAKEHOUSE_LANGFUSE_PUBLIC_KEY", "pk")
            .output()
            .unwrap(),
        "--langfuse-secret-key",
    );
    assert_startup_error(
        gateway(&["--roster", roster, "--langfuse-secret-key", "sk"])
            .env("LAKEHOUSE_LANGFUSE_URL", "http://127.0.0.1:3000")
            .output()
            .unwrap(),
        "--langfuse-public-key",
    );
    assert_startup_error(
        gateway(&["--roster", roster])
            .env("LAKEHOUSE_LANGFUSE_URL", "127.0.0.1:3000")
            .output()
            .unwrap(),
        "--langfuse-url",
    );
}

#[test]
fn bad_rosters_exit_2() {
    assert_startup_error(
        gateway(&["--roster", "/nonexistent/roster.jsonl"]).output().unwrap(),
        "/nonexistent/roster.jsonl",
    );
    let scratch = Scratch::new("rosters");
    let bad = scratch.dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"candidate_id\": \"W-1\"}\n").unwrap();
    assert_startup_error(
        gateway(&["--roster", bad.to_str().unwrap()]).output().unwrap(),
        "bad.jsonl:1",
    );
}

#[test]
fn port_in_use_exits_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let scratch = Scratch::new("port");
    let roster = scratch.roster();
    let output = gateway(&["--roster", roster.to_str().unwrap(), "--port", &port])
        .output()
        .unwrap();
    assert_startup_error(output, &port);
}

#[test]
fn serves_and_stops_on_sigterm() {
    let scratch = Scratch::new("sigterm");
    let roster = scratch.roster();
    let mut child = gateway(&["--port", "0"])
        .env("LAKEHOUSE_ROSTER", &roster)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "gateway exited before listening"
        );
        if let Some(port) = line.trim().strip_prefix("listening on 127.0.0.1:") {
            break port.parse::<u16>().unwrap();
        }
    };
    assert_ne!(port, 0);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("gateway did not stop within 5 s of SIGTERM");
}
