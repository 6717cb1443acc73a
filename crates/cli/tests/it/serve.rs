//! `twinscape serve`: the address line on stdout, a live `/healthz`, a clean exit on SIGTERM, and start-up failures as exit code 2.
//!
//! The server's HTTP behaviour is tested in the `server` crate; these tests check what the binary adds: flags, the announced address, signals, exit codes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use expect_test::expect;

use crate::{fixture, run};

/// How long the server may take to exit after SIGTERM before the test kills it and fails.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A `twinscape serve` child process, killed if the test ends before it exits.
struct Served {
    child: Option<Child>,
    address: SocketAddr,
}

impl Served {
    /// Starts `twinscape serve` with `args` in `dir` (stderr goes to `dir/stderr.log`) and reads the address it announces.
    fn start(dir: &Path, args: &[&str]) -> Served {
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("create the log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_twinscape"))
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the built binary starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout).read_line(&mut line).expect("read the announcement");
        let mut served = Served { child: Some(child), address: "0.0.0.0:0".parse().expect("an address") };
        let Some(address) = line.trim_end().strip_prefix("twinscape listening on http://") else {
            panic!("unexpected announcement {line:?}; stderr:\n{}", log(dir));
        };
        served.address = address.parse().expect("the announced address parses");
        served
    }

    /// Sends `GET path` over a fresh connection and returns the status line and the body.
    fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(self.address).expect("connect to the server");
        stream.set_read_timeout(Some(EXIT_TIMEOUT)).expect("set a read timeout");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.address)
            .expect("send the request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read the response");
        let status = response.lines().next().unwrap_or_default();
        let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        format!("{status}\n{body}")
    }

    /// Sends SIGTERM and returns the exit code, failing if the server does not exit within `EXIT_TIMEOUT`.
    fn terminate(mut self) -> i32 {
        let mut child = self.child.take().expect("the child runs");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let (exited, wait) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait());
        });
        match wait.recv_timeout(EXIT_TIMEOUT) {
            Ok(status) => {
                status.expect("wait for the server").code().expect("the server exits rather than being killed")
            }
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                panic!("the server did not exit within {EXIT_TIMEOUT:?} of SIGTERM");
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
}

#[test]
fn serve_announces_its_address_answers_and_stops_on_sigterm() {
    let dir = fixture("serve", &[]);
    let data_dir = dir.join("data");
    let served = Served::start(
        &dir,
        &["--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0", "--data-dir", data_dir.to_str().expect("UTF-8")],
    );
    assert_ne!(served.address.port(), 0);
    expect![[r#"
        HTTP/1.1 200 OK
        {"status":"ok"}"#]]
    .assert_eq(&served.get("/healthz"));
    assert_eq!(served.terminate(), 0, "stderr:\n{}", log(&dir));
    let log = log(&dir);
    assert!(log.contains("terminated; shutting down") && log.contains("stopped"), "stderr:\n{log}");
    assert!(!log.contains("WARN") && !log.contains("ERROR"), "stderr:\n{log}");
}

#[test]
fn serve_fails_with_code_2_when_it_cannot_start() {
    let dir = fixture("serve-fails", &[]);
    // A port this test holds, so the server cannot bind it.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let address = taken.local_addr().expect("the bound address").to_string();
    let failed = run(&dir, &["serve", "--listen", &address]);
    assert_eq!(failed.code, 2);
    assert_eq!(failed.stdout, "");
    let message = failed.stderr.lines().last().unwrap_or_default().replace(&address, "ADDR");
    expect!["error: start the server: bind ADDR: Address already in use (os error 98)"].assert_eq(&message);

    let failed = run(&dir, &["serve", "--tls-cert", "cert.pem"]);
    assert_eq!(failed.code, 2);
    assert!(failed.stderr.contains("--tls-key"), "{}", failed.stderr);

    let failed = run(&dir, &["serve", "--tls-cert", "missing.pem", "--tls-key", "missing.pem"]);
    assert_eq!(failed.code, 2);
    let message = failed.stderr.lines().last().unwrap_or_default().to_owned();
    expect![
        "error: start the server: read TLS certificate missing.pem: I/O error: No such file or directory (os error 2)"
    ]
    .assert_eq(&message);

    let failed = run(&dir, &["serve", "--mqtt-tls-listen", "127.0.0.1:0"]);
    assert_eq!(failed.code, 2);
    let message = failed.stderr.lines().last().unwrap_or_default().to_owned();
    expect![[
        r#"error: read configuration: invalid `mqtt.tls_listen`: MQTT over TLS on 127.0.0.1:0 needs a certificate: set [mqtt] cert_path and key_path, or [tls] cert_path and key_path (which also turn HTTPS on)"#
    ]]
    .assert_eq(&message);
}
