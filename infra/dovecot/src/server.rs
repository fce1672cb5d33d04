//! A private Dovecot server: its configuration, written into a folder of its own (IMAP on
//! 127.0.0.1 at a given port, no TLS, passwd-file passdb and userdb with argon2id, the
//! `last_login` plugin with a file dict), and the `dovecot` process. The end-to-end test and
//! `titolare-dovecot demo` both start it so; a real deployment has its own configuration.

use std::path::{Path, PathBuf};

/// The files of a server in `dir`.
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn config(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }
    pub fn passwd_file(&self) -> PathBuf {
        self.dir.join("passwd")
    }
    pub fn last_login_file(&self) -> PathBuf {
        self.dir.join("dict/last-login.dict")
    }
    pub fn last_login_dict(&self) -> String {
        format!("file:{}", self.last_login_file().display())
    }
    pub fn home_root(&self) -> PathBuf {
        self.dir.join("mail")
    }

    /// The adapter's view of this server, its journal under `dir`.
    pub fn dovecot(&self) -> crate::Dovecot {
        crate::Dovecot {
            passwd_file: self.passwd_file(),
            config: self.config(),
            last_login_dict: self.last_login_dict(),
            home_root: self.home_root(),
            journal: self.dir.join("journal"),
        }
    }

    /// Writes the configuration and a passwd-file of `users` (address, password).
    pub fn write(&self, port: u16, users: &[(&str, &str)]) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for sub in ["base", "state", "mail", "dict"] {
            std::fs::create_dir_all(self.dir.join(sub))?;
        }
        // The mail processes run as nobody: their folders must be theirs to write.
        for sub in ["mail", "dict"] {
            std::fs::set_permissions(self.dir.join(sub), std::fs::Permissions::from_mode(0o777))?;
        }
        let mut lines = String::new();
        for (user, password) in users {
            lines.push_str(&format!(
                "{user}:{}:::holder=:{}::\n",
                hashed(password)?,
                self.home_root().join(user).display()
            ));
        }
        std::fs::write(self.passwd_file(), lines)?;
        let d = self.dir.display();
        let config = format!(
            "base_dir = {d}/base\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\nprotocols = imap\n\
             listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             first_valid_uid = 1\nmail_location = maildir:~/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=ARGON2ID {d}/passwd\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = {d}/passwd\n  default_fields = uid=65534 gid=65534\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service stats {{\n  unix_listener stats-reader {{\n    mode = 0666\n  }}\n  unix_listener stats-writer {{\n    mode = 0666\n  }}\n}}\n\
             protocol imap {{\n  mail_plugins = $mail_plugins last_login\n}}\n\
             plugin {{\n  last_login_dict = {}\n  last_login_key = last-login/%u\n}}\n",
            self.last_login_dict()
        );
        std::fs::write(self.config(), config)
    }

    /// Starts `dovecot` in the foreground (the child is the master process; killing it
    /// stops the server).
    pub fn start(&self) -> std::io::Result<std::process::Child> {
        std::process::Command::new(binary("dovecot", "/usr/sbin/dovecot"))
            .arg("-F")
            .arg("-c")
            .arg(self.config())
            .spawn()
    }
}

/// A password as Dovecot stores it (`{ARGON2ID}$argon2id$…`), made by `doveadm pw`.
pub fn hashed(password: &str) -> std::io::Result<String> {
    let out = std::process::Command::new(binary("doveadm", "/usr/bin/doveadm"))
        .args(["pw", "-s", "ARGON2ID", "-p", password])
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other("doveadm pw failed"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A Dovecot program: Debian's place, else `PATH`.
pub fn binary(name: &str, debian: &str) -> PathBuf {
    if Path::new(debian).exists() {
        PathBuf::from(debian)
    } else {
        PathBuf::from(name)
    }
}
