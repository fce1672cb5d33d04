//! The API by hand (docs/api.md), run as pasted: its shell blocks between `<!-- walk:start -->` and
//! `<!-- walk:end -->`, under `bash -euo pipefail`, against a fresh `titolare-local` (the
//! one change is the port). Login, searches, a change of holder through all three parties
//! to completion, and the new holder's password.

use std::path::Path;

/// The shell blocks of the walk, in order.
fn walk() -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md"))
        .unwrap();
    let start = doc.find("<!-- walk:start -->").expect("the walk's start");
    let end = doc.find("<!-- walk:end -->").expect("the walk's end");
    let mut script = String::new();
    let mut inside = false;
    for line in doc[start..end].lines() {
        match line.trim_end() {
            "```sh" => inside = true,
            "```" => inside = false,
            _ if inside => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(script.lines().count() > 20, "the walk has its blocks");
    script
}

#[tokio::test]
async fn the_walk_of_the_api_runs_as_pasted() {
    let dir = std::env::temp_dir().join(format!("titolare-walk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gateway = titolare_e2e::start_local_binary(&dir, |c| {
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    })
    .await;
    let port = gateway.port;
    let script = walk().replace("http://127.0.0.1:3000", &format!("http://127.0.0.1:{port}"));
    let run = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .await
        .expect("bash");
    let (out, err) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "the walk stopped:\n{out}\n{err}");
    for shown in [
        r#""status":"open""#,
        r#"["decisions","sms"]"#,
        r#"["decisions","contract","sms","email"]"#,
        r#""completed""#,
        r#"{"holder_id":"963300","password_reset_required":true}"#,
        r#""password_reset_required":false"#,
    ] {
        assert!(out.contains(shown), "the walk shows {shown}:\n{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
