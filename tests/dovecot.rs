//! The change of holder changes the mailbox: seed 000 through the real `titolare-local`
//! binary, the new holder's password set on the password page's route, and the reference
//! adapter `titolare-dovecot` applying the commands to a real Dovecot server; then an IMAP
//! LOGIN with the new password works, the old one does not, the last-login record is gone,
//! and the request's page says the platform applied it (docs/platform.md).

use serde_json::Value;
use titolare_e2e::dovecot::Dovecot;
use titolare_e2e::flow::{self, *};
use titolare_e2e::{GatewaySurface, HttpClient, LocalBinary, start_local_binary, workspace_binary};

const MAILBOX: &str = "teste1234@pec.it";
const OLD_PASSWORD: &str = "Vecchia-Password-2020";
/// What `flow::full_success` sets on the password page.
const NEW_PASSWORD: &str = "Nuova-Password-2026";

struct Adapter(std::process::Child);

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_adapter(dovecot: &Dovecot, gateway: u16, env: &[(String, String)]) -> Adapter {
    let child = std::process::Command::new(workspace_binary("titolare-dovecot"))
        .envs(env.iter().cloned())
        .env("TITOLARE_LOCAL_URL", format!("http://127.0.0.1:{gateway}"))
        .spawn()
        .expect("titolare-dovecot starts");
    let _ = dovecot;
    Adapter(child)
}

async fn gateway(dir: &std::path::Path) -> LocalBinary {
    start_local_binary(dir, |c| {
        c.env("TITOLARE_PLATFORM", "external");
    })
    .await
}

/// Each item's platform status, once every moved item has left "waiting" (up to 20 s).
async fn settled(s: &dyn Surface, id: &str) -> Vec<(String, Value)> {
    let mut items = Vec::new();
    for _ in 0..400 {
        items = flow::item_platforms(s, id).await;
        if items
            .iter()
            .all(|(_, p)| p.is_null() || p["status"] != "waiting")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    items
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("titolare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_password_opens_the_mailbox_on_a_real_dovecot() {
    let dovecot = Dovecot::start(&[(MAILBOX, OLD_PASSWORD)]);
    let mut transcript = Vec::new();
    // The previous holder uses the mailbox: Dovecot records the login.
    let (lines, ok_before) = dovecot.login(MAILBOX, OLD_PASSWORD);
    assert!(ok_before, "{lines:?}");
    transcript.push("# before the change, the previous holder's password".to_owned());
    transcript.extend(lines);
    for _ in 0..100 {
        if dovecot.last_login(MAILBOX).is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        dovecot.last_login(MAILBOX).is_some(),
        "Dovecot records the last login"
    );

    let dir = scratch("dovecot-gateway");
    let local = gateway(&dir).await;
    let http = HttpClient::new(format!("http://127.0.0.1:{}", local.port));
    let s = GatewaySurface::new(http.clone());
    // The adapter is down: the change completes and the password is set, the commands wait.
    let id = flow::full_success(&s).await;
    let waiting = flow::item_platforms(&s, &id).await;
    assert_eq!(waiting[0].1["status"], "waiting", "{waiting:?}");
    let (lines, still) = dovecot.login(MAILBOX, OLD_PASSWORD);
    assert!(
        still,
        "nothing applied while the adapter is down: {lines:?}"
    );

    // The adapter comes up: the queued commands apply, in order.
    let journal = scratch("dovecot-journal");
    let _adapter = start_adapter(&dovecot, local.port, &dovecot.adapter_env(&journal));
    let items = settled(&s, &id).await;
    let words: Vec<(&str, Option<&str>)> = items
        .iter()
        .map(|(i, p)| (i.as_str(), p["status"].as_str()))
        .collect();
    assert_eq!(
        words,
        [
            (MAILBOX, Some("applied")),
            ("fatture.testazienda@pec.it", None),
            ("testazienda-pec.it", Some("applied"))
        ]
    );
    let commands = http.send("GET", "/dev/platform", None, None).await.body;
    let answers: Vec<(String, String)> = commands
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["command"]["target"] == MAILBOX)
        .map(|c| {
            (
                c["command"]["type"].as_str().unwrap().to_owned(),
                c["ack"]["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("holder.changed".into(), "applied".into()),
            ("access-history.reset".into(), "applied".into()),
            ("delegated-access.suspended".into(), "not_applicable".into()),
            ("second-factor.unlinked".into(), "not_applicable".into()),
            ("password.set".into(), "applied".into()),
        ]
    );
    let at: Vec<&str> = commands
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["command"]["target"] == MAILBOX)
        .map(|c| c["ack"]["at"].as_str().unwrap())
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] <= w[1]),
        "applied in the order issued: {at:?}"
    );

    assert_eq!(
        dovecot.last_login(MAILBOX),
        None,
        "the access history is gone"
    );
    // Dovecot looks at its passwd-file again at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let passwd = std::fs::read_to_string(dovecot.passwd_file()).unwrap();
    assert!(passwd.contains("holder=963300 account=demo"), "{passwd}");
    let (lines, old_ok) = dovecot.login(MAILBOX, OLD_PASSWORD);
    transcript.push("# after the change, the previous holder's password".to_owned());
    transcript.extend(lines.clone());
    assert!(!old_ok, "the old password opens nothing: {lines:?}");
    assert!(
        lines.last().unwrap().contains("AUTHENTICATIONFAILED"),
        "{lines:?}"
    );
    let (lines, new_ok) = dovecot.login(MAILBOX, NEW_PASSWORD);
    transcript.push("# after the change, the new holder's password".to_owned());
    transcript.extend(lines.clone());
    assert!(new_ok, "the new password opens the mailbox: {lines:?}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("imap-transcript.txt");
    std::fs::write(&path, transcript.join("\n") + "\n").unwrap();
    titolare_e2e::figure(
        env!("CARGO_TARGET_TMPDIR"),
        &format!(
            "dovecot: IMAP LOGIN with the new password OK, the old one refused, last login cleared ({})",
            path.display()
        ),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&journal);
}

/// A platform that cannot write its password database tries each command again, then
/// refuses it with its reason: the request's page says so, and the command (with the
/// password) is kept, never lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_the_platform_cannot_apply_is_retried_then_reported_refused() {
    let dovecot = Dovecot::start(&[(MAILBOX, OLD_PASSWORD)]);
    let dir = scratch("dovecot-refused");
    let local = gateway(&dir).await;
    let http = HttpClient::new(format!("http://127.0.0.1:{}", local.port));
    let s = GatewaySurface::new(http.clone());
    let id = flow::full_success(&s).await;
    let journal = scratch("dovecot-refused-journal");
    let mut env = dovecot.adapter_env(&journal);
    for (name, value) in &mut env {
        if name == "DOVECOT_PASSWD_FILE" {
            *value = dir.join("no-such-folder/passwd").display().to_string();
        }
    }
    let _adapter = start_adapter(&dovecot, local.port, &env);
    let items = settled(&s, &id).await;
    assert_eq!(items[0].1["status"], "refused", "{items:?}");
    assert_eq!(
        items[2].1["status"], "applied",
        "a domain's command is not Dovecot's: {items:?}"
    );
    let commands = http.send("GET", "/dev/platform", None, None).await.body;
    let changed = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["command"]["target"] == MAILBOX)
        .unwrap();
    assert_eq!(changed["ack"]["result"], "refused");
    assert!(
        changed["ack"]["reason"]
            .as_str()
            .unwrap()
            .contains("password database"),
        "{changed}"
    );
    // Dovecot unchanged: the old password still opens the mailbox.
    assert!(dovecot.login(MAILBOX, OLD_PASSWORD).1);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&journal);
}
