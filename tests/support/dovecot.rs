//! A private Dovecot server for the end-to-end test of the mail platform (docs/platform.md):
//! Debian's `dovecot-imapd` (installed by infra/scripts/test) on a free port of 127.0.0.1,
//! configured as `titolare-dovecot demo` configures it, in a folder of its own; stopped when
//! dropped. And an IMAP client of one command: LOGIN.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use titolare_dovecot::server::Layout;

pub struct Dovecot {
    pub layout: Layout,
    pub port: u16,
    child: std::process::Child,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.layout.dir);
    }
}

impl Dovecot {
    /// Starts a server whose passwd-file holds `users` (address, password).
    pub fn start(users: &[(&str, &str)]) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let layout = Layout {
            dir: std::env::temp_dir().join(format!(
                "titolare-dovecot-e2e-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            )),
        };
        let _ = std::fs::remove_dir_all(&layout.dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        layout
            .write(port, users)
            .expect("doveadm: run infra/scripts/test, which installs Debian's dovecot-imapd");
        let child = layout
            .start()
            .expect("dovecot: run infra/scripts/test, which installs Debian's dovecot-imapd");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Self {
            layout,
            port,
            child,
        }
    }

    pub fn passwd_file(&self) -> std::path::PathBuf {
        self.layout.passwd_file()
    }

    /// The last-login record of `user`, if any (the dict file: key and value lines).
    pub fn last_login(&self, user: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.layout.last_login_file()).unwrap_or_default();
        let mut lines = text.lines();
        while let Some(key) = lines.next() {
            let value = lines.next();
            if key == format!("shared/last-login/{user}") {
                return value.map(str::to_owned);
            }
        }
        None
    }

    /// An IMAP LOGIN as a mail client makes it; the transcript (the password shown as `***`)
    /// and whether the server said OK.
    pub fn login(&self, user: &str, password: &str) -> (Vec<String>, bool) {
        imap_login(self.port, user, password)
    }

    /// The adapter binary's environment for this server, its journal under `journal_dir`.
    pub fn adapter_env(&self, journal_dir: &Path) -> Vec<(String, String)> {
        let d = self.layout.dovecot();
        vec![
            (
                "DOVECOT_PASSWD_FILE".into(),
                d.passwd_file.display().to_string(),
            ),
            ("DOVECOT_CONFIG".into(), d.config.display().to_string()),
            ("DOVECOT_LAST_LOGIN_DICT".into(), d.last_login_dict),
            (
                "DOVECOT_HOME_ROOT".into(),
                d.home_root.display().to_string(),
            ),
            (
                "ADAPTER_JOURNAL".into(),
                journal_dir.join("journal").display().to_string(),
            ),
        ]
    }
}

fn imap_login(port: u16, user: &str, password: &str) -> (Vec<String>, bool) {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut transcript = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    transcript.push(format!("S: {}", line.trim_end()));
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    write!(writer, "a1 LOGIN {} {}\r\n", quote(user), quote(password)).unwrap();
    transcript.push(format!("C: a1 LOGIN {} \"***\"", quote(user)));
    let ok = loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break false;
        }
        transcript.push(format!("S: {}", line.trim_end()));
        if let Some(rest) = line.strip_prefix("a1 ") {
            break rest.starts_with("OK");
        }
    };
    let _ = write!(writer, "a2 LOGOUT\r\n");
    (transcript, ok)
}
