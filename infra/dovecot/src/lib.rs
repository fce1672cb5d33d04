//! The reference adapter of the mail platform (docs/platform.md): Titolare's commands
//! applied to a Dovecot server. Passwords and holders live in Dovecot's passwd-file (one line
//! per mailbox: `user:{ARGON2ID}<PHC>:::holder=<id> account=<id>:<home>::`), which Dovecot
//! reads again whenever it changes, with no database server to run; the access history is
//! the `last_login` plugin's dict, cleared with `doveadm dict unset`. Each command id is
//! applied once: a journal remembers the answer given, so a command delivered again (the
//! queue's at-least-once) is answered the same, never applied twice (an old `password.set`
//! replayed never undoes a newer one).

pub mod server;
pub mod transport;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use titolare_domain::platform::{Ack, AckResult, Action, Command, SCHEMA};
use titolare_domain::transfer::ItemKind;

/// Why a command changes nothing on this server: the acknowledgement's reason, kept with the
/// command in the request's record (domains, delegated access, a second factor).
pub const NOT_APPLICABLE: [&str; 3] = [
    "Dovecot non gestisce i domini: nulla da applicare.",
    "Nessun accesso delegato configurato su questo server.",
    "Questo server non usa un secondo fattore.",
];

/// Where the Dovecot server keeps what the commands change.
#[derive(Debug, Clone)]
pub struct Dovecot {
    /// The passwd-file of the passdb and userdb.
    pub passwd_file: PathBuf,
    /// The Dovecot configuration `doveadm` runs with (`-c`).
    pub config: PathBuf,
    /// The `last_login` plugin's dict (`last_login_dict`), e.g. `file:/var/lib/dovecot/last-login.dict`.
    pub last_login_dict: String,
    /// A new mailbox's home is `<home_root>/<address>`.
    pub home_root: PathBuf,
    /// The journal of applied commands (one line each: id and result).
    pub journal: PathBuf,
}

/// Why a command could not be applied now (it is tried again, then refused).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the password database cannot be written: {0}")]
    PasswdFile(std::io::ErrorKind),
    #[error("doveadm failed: {0}")]
    Doveadm(String),
    #[error("the journal cannot be written: {0}")]
    Journal(std::io::ErrorKind),
    #[error("{0}")]
    Invalid(&'static str),
}

/// A Dovecot server and the answers already given.
pub struct Adapter {
    dovecot: Dovecot,
    answered: HashMap<String, (AckResult, Option<String>)>,
}

impl Adapter {
    /// Opens the journal (a missing one is empty).
    pub fn open(dovecot: Dovecot) -> std::io::Result<Self> {
        let mut answered = HashMap::new();
        match std::fs::read_to_string(&dovecot.journal) {
            Ok(text) => {
                for line in text.lines() {
                    let mut parts = line.splitn(3, ' ');
                    let (Some(id), Some(result)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let result = match result {
                        "applied" => AckResult::Applied,
                        "not_applicable" => AckResult::NotApplicable,
                        _ => continue,
                    };
                    let reason = parts.next().map(str::to_owned);
                    answered.insert(id.to_owned(), (result, reason));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self { dovecot, answered })
    }

    /// Applies `command` once (again: the answer given the first time) and says how.
    pub fn apply(&mut self, command: &Command) -> Result<Ack, ApplyError> {
        let (result, reason) = match self.answered.get(command.id.as_str()) {
            Some(answer) => answer.clone(),
            None => {
                let answer = self.apply_first(command)?;
                self.remember(command, &answer)?;
                answer
            }
        };
        Ok(ack(command, result, reason))
    }

    fn apply_first(&self, command: &Command) -> Result<(AckResult, Option<String>), ApplyError> {
        let not_applicable = |why: &str| Ok((AckResult::NotApplicable, Some(why.to_owned())));
        if command.target_kind == ItemKind::Domain {
            return not_applicable(NOT_APPLICABLE[0]);
        }
        let user = command.target.to_lowercase();
        match &command.action {
            Action::HolderChanged { new_holder, .. } => {
                // The previous holder's password opens nothing from now on; the new one's
                // comes with `password.set`.
                let gecos = format!(
                    "holder={} account={}",
                    new_holder.as_str(),
                    command.account.as_str()
                );
                self.rewrite(&user, Some("{CRYPT}*"), Some(&gecos))?;
            }
            Action::PasswordSet { password_hash } => {
                let hash = password_hash
                    .as_deref()
                    .filter(|h| h.starts_with("$argon2id$"))
                    .ok_or(ApplyError::Invalid("no argon2id password in the command"))?;
                self.rewrite(&user, Some(&format!("{{ARGON2ID}}{hash}")), None)?;
            }
            Action::AccessHistoryReset => self.forget_last_login(&user)?,
            Action::DelegatedAccessSuspended => {
                return not_applicable(NOT_APPLICABLE[1]);
            }
            Action::SecondFactorUnlinked => {
                return not_applicable(NOT_APPLICABLE[2]);
            }
        }
        Ok((AckResult::Applied, None))
    }

    /// Sets the password and/or the gecos field of `user`'s line (a new line if none), and
    /// replaces the file in one rename, so Dovecot never reads half of it.
    fn rewrite(
        &self,
        user: &str,
        password: Option<&str>,
        gecos: Option<&str>,
    ) -> Result<(), ApplyError> {
        let io = |e: std::io::Error| ApplyError::PasswdFile(e.kind());
        let text = match std::fs::read_to_string(&self.dovecot.passwd_file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(e)),
        };
        let mut found = false;
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| {
                let mut fields: Vec<String> = line.split(':').map(str::to_owned).collect();
                if fields.first().is_some_and(|u| u.eq_ignore_ascii_case(user)) {
                    found = true;
                    fields.resize(fields.len().max(8), String::new());
                    if let Some(p) = password {
                        fields[1] = p.to_owned();
                    }
                    if let Some(g) = gecos {
                        fields[4] = g.to_owned();
                    }
                    fields.join(":")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        if !found {
            let home = self.dovecot.home_root.join(user);
            lines.push(format!(
                "{user}:{}:::{}:{}::",
                password.unwrap_or("{CRYPT}*"),
                gecos.unwrap_or(""),
                home.display()
            ));
        }
        let mut body = lines.join("\n");
        body.push('\n');
        let file = &self.dovecot.passwd_file;
        let temp = file.with_extension("titolare-new");
        std::fs::write(&temp, body).map_err(io)?;
        std::fs::rename(&temp, file).map_err(io)
    }

    fn forget_last_login(&self, user: &str) -> Result<(), ApplyError> {
        let key = format!("shared/last-login/{user}");
        let out = std::process::Command::new(server::binary("doveadm", "/usr/bin/doveadm"))
            .arg("-c")
            .arg(&self.dovecot.config)
            .args(["dict", "unset", &self.dovecot.last_login_dict, &key])
            .output()
            .map_err(|e| ApplyError::Doveadm(format!("{:?}", e.kind())))?;
        // No record is what the command asks for.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("doesn't exist") {
            Ok(())
        } else {
            Err(ApplyError::Doveadm(format!("exit {}", out.status)))
        }
    }

    fn remember(
        &mut self,
        command: &Command,
        answer: &(AckResult, Option<String>),
    ) -> Result<(), ApplyError> {
        let io = |e: std::io::Error| ApplyError::Journal(e.kind());
        let word = match answer.0 {
            AckResult::Applied => "applied",
            AckResult::NotApplicable => "not_applicable",
            AckResult::Refused => return Ok(()),
        };
        let mut journal = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.dovecot.journal)
            .map_err(io)?;
        let reason = answer
            .1
            .as_deref()
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        writeln!(journal, "{} {word}{reason}", command.id.as_str()).map_err(io)?;
        journal.sync_data().map_err(io)?;
        self.answered
            .insert(command.id.as_str().to_owned(), answer.clone());
        Ok(())
    }
}

pub fn ack(command: &Command, result: AckResult, reason: Option<String>) -> Ack {
    Ack {
        schema: SCHEMA,
        command: command.id.clone(),
        result,
        reason,
        at: jiff::Timestamp::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use titolare_domain::platform;
    use titolare_domain::transfer::*;

    fn adapter(dir: &Path) -> Adapter {
        Adapter::open(Dovecot {
            passwd_file: dir.join("passwd"),
            config: dir.join("dovecot.conf"),
            last_login_dict: format!("file:{}", dir.join("last-login.dict").display()),
            home_root: dir.join("mail"),
            journal: dir.join("journal"),
        })
        .unwrap()
    }

    fn commands() -> Vec<Command> {
        let account = titolare_domain::AccountId::parse("demo").unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = titolare_store_free_transfer(&account);
        t.items[0].outcome = Some(ItemOutcome::Moved);
        let mut all: Vec<Command> = titolare_domain::commands::of_completion(&t, now)
            .into_iter()
            .map(|r| r.command)
            .collect();
        for (n, hash) in [(1, "$argon2id$v=19$first"), (2, "$argon2id$v=19$second")] {
            all.push(platform::password_set(
                &t.id, 0, n, &account, "a@pec.it", hash, now,
            ));
        }
        all
    }

    /// A transfer of one mailbox, a@pec.it, without the store's fixtures.
    fn titolare_store_free_transfer(account: &titolare_domain::AccountId) -> Transfer {
        let json = serde_json::json!({
            "id": "7", "account": account.as_str(), "status": "completed",
            "created_at": "2027-01-15T08:00:00Z", "deadline": "2027-01-20T08:00:00Z",
            "initiator": {"mobile": "+393330000001", "email": "i@example.it", "lingua": "it"},
            "current_holder": {"mobile": "+393330000002", "email": "c@example.it", "lingua": "it"},
            "new_holder": {"mobile": "+393330000003", "email": "n@example.it", "lingua": "it"},
            "current_holder_card": {"id": "5", "tipo": "privato", "name": "Uno"},
            "new_holder_card": {"id": "6", "tipo": "privato", "name": "Due"},
            "management": {"mode": "keep"},
            "items": [{"kind": "mailbox", "id": "a@pec.it", "current_holder": true, "new_holder": true, "outcome": null}],
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn each_command_applies_once_and_a_replay_never_undoes_a_newer_one() {
        let dir = std::env::temp_dir().join(format!("titolare-dovecot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("passwd"),
            "a@pec.it:{ARGON2ID}$argon2id$v=19$old:::holder=5:/m/a::\nb@pec.it:{CRYPT}*:::::\n",
        )
        .unwrap();
        let all = commands();
        let mut a = adapter(&dir);
        let changed = a.apply(&all[0]).unwrap();
        assert_eq!(changed.result, AckResult::Applied);
        let passwd = std::fs::read_to_string(dir.join("passwd")).unwrap();
        assert!(
            passwd.starts_with("a@pec.it:{CRYPT}*:::holder=6 account=demo:/m/a::"),
            "{passwd}"
        );
        assert!(passwd.contains("b@pec.it:{CRYPT}*"), "other lines kept");
        for c in &all[2..4] {
            assert_eq!(
                a.apply(c).unwrap().result,
                AckResult::NotApplicable,
                "{c:?}"
            );
        }
        a.apply(&all[4]).unwrap();
        a.apply(&all[5]).unwrap();
        // The first password again, after the second (and from a restarted adapter).
        let mut again = adapter(&dir);
        assert_eq!(again.apply(&all[4]).unwrap().result, AckResult::Applied);
        assert_eq!(
            again.apply(&all[2]).unwrap().result,
            AckResult::NotApplicable,
            "the same answer"
        );
        let passwd = std::fs::read_to_string(dir.join("passwd")).unwrap();
        assert!(
            passwd.contains("{ARGON2ID}$argon2id$v=19$second"),
            "{passwd}"
        );
        assert!(!passwd.contains("first"), "{passwd}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_database_is_an_error_not_an_answer() {
        let dir = std::env::temp_dir().join(format!("titolare-dovecot-ro-{}", std::process::id()));
        let mut a = adapter(&dir.join("missing"));
        let all = commands();
        assert!(matches!(a.apply(&all[0]), Err(ApplyError::PasswdFile(_))));
        assert!(
            a.answered.is_empty(),
            "nothing remembered: it is tried again"
        );
    }
}
