//! The `gridlink` binary as an operator runs it: bad configuration stops it with
//! one line naming the option, and SIGTERM stops it cleanly.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn gridlink(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gridlink"));
    command
        .args(args)
        .env_remove("GRIDLINK_MASTER_KEY")
        .env_remove("GRIDLINK_DATABASE_URL")
        .env_remove("SSL_CERT_FILE");
    command
}

fn unique_data_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("gridlink-cli-{}-{n}", std::process::id()))
}

fn run_to_failure(args: &[&str]) -> String {
    let data_dir = unique_data_dir();
    let data_dir_arg = format!("--data-dir={}", data_dir.display());
    let mut all_args = args.to_vec();
    all_args.push(&data_dir_arg);
    let Output { status, stderr, .. } = gridlink(&all_args).output().expect("run gridlink");
    let _ = std::fs::remove_dir_all(&data_dir);
    assert_eq!(status.code(), Some(1), "gridlink should fail");
    let stderr = String::from_utf8(stderr).unwrap();
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("error"))
        .collect();
    assert_eq!(
        error_lines.len(),
        1,
        "exactly one error line expected:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    error_lines[0].to_owned()
}

#[test]
fn a_port_in_use_is_reported_with_the_option_that_chose_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let line = run_to_failure(&[
        "serve",
        "--demo",
        "--listen",
        &address,
        "--sandbox-listen=127.0.0.1:0",
        "--sandbox-smtp-listen=127.0.0.1:0",
    ]);
    assert!(line.contains("GRIDLINK_LISTEN (--listen)"), "{line}");
    assert!(line.contains("in use"), "{line}");
}

#[test]
fn the_mail_catchers_port_in_use_is_reported_with_its_option() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let line = run_to_failure(&[
        "serve",
        "--demo",
        "--listen=127.0.0.1:0",
        "--sandbox-listen=127.0.0.1:0",
        "--sandbox-smtp-listen",
        &address,
    ]);
    assert!(
        line.contains("GRIDLINK_SANDBOX_SMTP_LISTEN (--sandbox-smtp-listen)"),
        "{line}"
    );
}

#[test]
fn a_sandbox_port_in_use_is_reported_with_its_option() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let line = run_to_failure(&[
        "serve",
        "--demo",
        "--listen=127.0.0.1:0",
        "--sandbox-smtp-listen=127.0.0.1:0",
        "--sandbox-listen",
        &address,
    ]);
    assert!(
        line.contains("GRIDLINK_SANDBOX_LISTEN (--sandbox-listen)"),
        "{line}"
    );
}

#[test]
fn an_unreachable_database_is_reported_with_its_option() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let line = run_to_failure(&[
        "serve",
        "--demo",
        "--listen=127.0.0.1:0",
        "--database-url=postgres://gridlink:secret-password@127.0.0.1:1/gridlink",
    ]);
    assert!(
        line.contains("GRIDLINK_DATABASE_URL (--database-url)"),
        "{line}"
    );
    assert!(
        !line.contains("secret-password"),
        "the password leaked: {line}"
    );
}

#[test]
fn an_unparseable_utility_url_is_reported_with_its_option() {
    let line = run_to_failure(&["serve", "--demo", "--utility-url", "not a url"]);
    assert!(
        line.contains("GRIDLINK_UTILITY_URL (--utility-url)"),
        "{line}"
    );
}

#[test]
fn serving_without_a_master_key_outside_demo_mode_is_refused() {
    let line = run_to_failure(&["serve"]);
    assert!(
        line.contains("GRIDLINK_MASTER_KEY (--master-key)"),
        "{line}"
    );
}

#[test]
fn a_malformed_master_key_is_refused() {
    let line = run_to_failure(&["serve", "--master-key", "k1:c2hvcnQ="]);
    assert!(
        line.contains("GRIDLINK_MASTER_KEY (--master-key)"),
        "{line}"
    );
    assert!(line.contains("32 bytes"), "{line}");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let data_dir = unique_data_dir();
    let port = common::free_port();
    let listen = format!("--listen=127.0.0.1:{port}");
    let data = format!("--data-dir={}", data_dir.display());
    let child = gridlink(&[
        "serve",
        "--demo",
        &listen,
        "--sandbox-listen=127.0.0.1:0",
        "--sandbox-smtp-listen=127.0.0.1:0",
        &data,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until_listening(port);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}:\n{stderr}",
        output.status
    );
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(stderr.contains("Gridlink stopped"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn gridlink_sandbox_runs_the_sandbox_utilities_alone() {
    let port = common::free_port();
    let listen = format!("--sandbox-listen=127.0.0.1:{port}");
    let child = gridlink(&["sandbox", &listen, "--sandbox-smtp-listen=127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let body = loop {
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut stream| {
            use std::io::{Read, Write};
            stream.write_all(
                b"GET /api/utilities HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )?;
            let mut text = String::new();
            stream.read_to_string(&mut text)?;
            Ok(text)
        });
        match answer {
            Ok(text) => break text,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(error) => panic!("the sandbox did not start: {error}"),
        }
    };
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("Sandbox Electric"), "{body}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_tls_key_that_does_not_fit_its_certificate_stops_the_server_naming_the_option() {
    let ca = common::tls::TestCa::new();
    let cert = format!("--tls-cert={}", ca.cert_file.display());
    let wrong_key = format!("--tls-key={}", ca.other_key_file.display());
    let line = run_to_failure(&[
        "serve",
        "--demo",
        "--listen=127.0.0.1:0",
        "--sandbox-listen=127.0.0.1:0",
        "--sandbox-smtp-listen=127.0.0.1:0",
        &cert,
        &wrong_key,
    ]);
    assert!(line.contains("GRIDLINK_TLS_KEY (--tls-key)"), "{line}");
    assert!(line.contains("does not fit the certificate"), "{line}");
}

#[test]
fn a_missing_tls_certificate_stops_the_server_naming_the_option() {
    let line = run_to_failure(&[
        "serve",
        "--demo",
        "--listen=127.0.0.1:0",
        "--sandbox-listen=127.0.0.1:0",
        "--sandbox-smtp-listen=127.0.0.1:0",
        "--tls-cert=/nonexistent/gridlink.pem",
        "--tls-key=/nonexistent/gridlink-key.pem",
    ]);
    assert!(line.contains("GRIDLINK_TLS_CERT (--tls-cert)"), "{line}");
}

#[test]
fn ssl_cert_file_from_the_environment_is_honoured() {
    let data_dir = unique_data_dir();
    let output = gridlink(&[
        "serve",
        "--demo",
        "--listen=127.0.0.1:0",
        "--sandbox-listen=127.0.0.1:0",
        "--sandbox-smtp-listen=127.0.0.1:0",
        &format!("--data-dir={}", data_dir.display()),
    ])
    .env("SSL_CERT_FILE", "/nonexistent/company-ca.pem")
    .output()
    .expect("run gridlink");
    let _ = std::fs::remove_dir_all(&data_dir);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SSL_CERT_FILE (--ssl-cert-file)"),
        "{stderr}"
    );
    assert!(stderr.contains("/nonexistent/company-ca.pem"), "{stderr}");
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits (up to 30 s) until something listens on `port`.
fn wait_until_listening(port: u16) {
    let started = Instant::now();
    while !answers(port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn case_33_a_production_start_without_adapters_is_refused_naming_them() {
    let key = server::infra::crypto::MasterKey::generate("k1").to_config_value();
    let line = run_to_failure(&["serve", "--listen=127.0.0.1:0", "--master-key", &key]);
    assert!(
        line.contains("GRIDLINK_ADAPTERS (--adapters) or GRIDLINK_UTILITY_URL (--utility-url)"),
        "{line}"
    );
    assert!(line.contains("--sandbox"), "{line}");
}

/// A server with a master key and an adapter, as production runs it: no
/// sandbox utilities, no mail catcher, and a password-reset mail that nobody
/// can read (it waits in the queue until a mail server is configured).
#[cfg(unix)]
#[test]
fn case_33_a_production_start_runs_no_sandbox_and_no_mail_catcher() {
    use std::io::{Read, Write};

    let data_dir = unique_data_dir();
    let data = format!("--data-dir={}", data_dir.display());
    let key = server::infra::crypto::MasterKey::generate("k1").to_config_value();
    let created = gridlink(&[
        "create-organisation",
        "--name=Production Co",
        "--admin-email=admin@production.example",
        "--admin-password=a long admin password",
        &data,
    ])
    .output()
    .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    // The adapter: a sandbox of its own, whose catcher Gridlink is not told about.
    let (adapter_port, adapter_smtp_port) = (common::free_port(), common::free_port());
    let mut adapter = gridlink(&[
        "sandbox",
        &format!("--sandbox-listen=127.0.0.1:{adapter_port}"),
        &format!("--sandbox-smtp-listen=127.0.0.1:{adapter_smtp_port}"),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let (port, sandbox_port, catcher_port) = (
        common::free_port(),
        common::free_port(),
        common::free_port(),
    );
    let child = gridlink(&[
        "serve",
        &format!("--listen=127.0.0.1:{port}"),
        &format!("--utility-url=http://127.0.0.1:{adapter_port}"),
        &format!("--sandbox-listen=127.0.0.1:{sandbox_port}"),
        &format!("--sandbox-smtp-listen=127.0.0.1:{catcher_port}"),
        "--static-dir=/nonexistent",
        &data,
    ])
    .env("GRIDLINK_MASTER_KEY", &key)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until_listening(port);

    let request = |raw: String| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let body = r#"{"email":"admin@production.example"}"#;
    let answer = request(format!(
        "POST /api/password-reset HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    std::thread::sleep(Duration::from_millis(500));

    assert!(!answers(sandbox_port), "sandbox utilities are listening");
    assert!(!answers(catcher_port), "a mail catcher is listening");
    let mail = plain_get(adapter_port, "/api/mail");
    assert_eq!(mail, "[]", "the reset mail reached a catcher");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    adapter.kill().ok();
    adapter.wait().ok();
    let _ = std::fs::remove_dir_all(&data_dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("sandbox OFF"), "{stdout}");
    assert!(stdout.contains("mail waits in the queue"), "{stdout}");
    assert!(!stdout.contains("DEMO"), "{stdout}");
    assert!(
        stderr.contains("mail to operators and end-users waits in the queue"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("in the queue").count(),
        1,
        "warned once: {stderr}"
    );
}

/// The body of a GET over a plain socket, for tests without an async runtime.
fn plain_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_owned())
        .unwrap_or_default()
}
