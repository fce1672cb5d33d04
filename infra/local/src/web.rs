//! The panel's pages and files (`web/`), served beside the API as CloudFront serves them from
//! S3 in AWS: the same paths, the same security headers, no build step.

use bytes::Bytes;
use http_body_util::Full;
use std::path::{Path, PathBuf};

/// The policy every page is served with (CloudFront's response-headers policy in
/// template.yaml carries the same one, plus the identity provider in `connect-src`): no inline
/// script or style, nothing from elsewhere, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The folders under `web/` a browser may fetch from; everything else there (tests, scripts,
/// node_modules) is not served.
const PUBLIC_FOLDERS: &[&str] = &["css", "js", "vendor", "img"];

/// Where the pages are: `TITOLARE_WEB_DIR`, else the repository's `web/`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("TITOLARE_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web"))
}

/// The file a GET of `path` serves, if it is one of the panel's.
fn file_for(path: &str) -> Option<String> {
    let page = match path {
        "/" | "/index.html" => Some("index.html"),
        "/gestisci" | "/gestisci.html" => Some("gestisci.html"),
        "/password" | "/password.html" => Some("password.html"),
        "/operatore" | "/operatore.html" => Some("operatore.html"),
        "/blocca" | "/blocca.html" => Some("blocca.html"),
        _ => None,
    };
    if let Some(page) = page {
        return Some(page.to_owned());
    }
    let relative = path.strip_prefix('/')?;
    let (folder, rest) = relative.split_once('/')?;
    let safe = PUBLIC_FOLDERS.contains(&folder)
        && !rest.is_empty()
        && rest.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    safe.then(|| relative.to_owned())
}

fn content_type(file: &str) -> Option<&'static str> {
    let extension = file.rsplit_once('.')?.1;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

/// The answer to a GET of `path`, or `None` when the path is not the panel's.
pub fn serve(dir: &Path, path: &str) -> Option<hyper::Response<Full<Bytes>>> {
    if path == "/config.json" {
        // Locally the panel logs in through /dev/login; in AWS the deployed config.json names
        // the OpenID Connect issuer and client instead.
        let config = serde_json::json!({
            "login": "dev",
            "dev_users": ["demo", "demo2"],
            "dev_operators": [crate::dev::OPERATOR],
        });
        return Some(respond(200, "application/json", config.to_string().into()));
    }
    let file = file_for(path)?;
    let kind = content_type(&file)?;
    Some(match std::fs::read(dir.join(&file)) {
        Ok(body) => respond(200, kind, body.into()),
        Err(_) => respond(
            404,
            "text/plain; charset=utf-8",
            "Pagina non trovata.".into(),
        ),
    })
}

fn respond(status: u16, content_type: &str, body: Bytes) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        // Pages change while a developer edits them; CloudFront caches them in AWS.
        .header("cache-control", "no-cache")
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .body(Full::new(body))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_panels_files_are_served() {
        assert_eq!(file_for("/").as_deref(), Some("index.html"));
        assert_eq!(file_for("/gestisci").as_deref(), Some("gestisci.html"));
        assert_eq!(file_for("/password").as_deref(), Some("password.html"));
        assert_eq!(file_for("/operatore").as_deref(), Some("operatore.html"));
        assert_eq!(file_for("/blocca").as_deref(), Some("blocca.html"));
        assert_eq!(file_for("/js/api.js").as_deref(), Some("js/api.js"));
        assert_eq!(
            file_for("/js/account/holders.js").as_deref(),
            Some("js/account/holders.js")
        );
        for refused in [
            "/js/../package.json",
            "/js/%2e%2e/package.json",
            "/node_modules/x.js",
            "/tests/flow.test.mjs",
            "/js/.hidden.js",
            "/js//api.js",
            "/js/",
            "/package.json",
            "/v1/holders",
            "/css/a b.css",
        ] {
            assert_eq!(file_for(refused), None, "{refused}");
        }
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let dir = default_dir();
        for path in [
            "/",
            "/gestisci",
            "/password",
            "/blocca",
            "/operatore",
            "/config.json",
        ] {
            let response = serve(&dir, path).expect(path);
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers();
            assert_eq!(headers["referrer-policy"], "no-referrer");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
            assert!(!csp.contains("unsafe-inline"));
        }
        assert!(serve(&dir, "/v1/holders").is_none());
        assert_eq!(serve(&dir, "/js/missing.js").unwrap().status(), 404);
    }
}
