//! The SDK's HTTPS client, trusting Mozilla's root certificates compiled into the binary.
//!
//! The SDK's default client reads the operating system's certificate store on every cold
//! start: on Debian 292 files (~6 ms of init), on Lambda's Amazon Linux one PEM bundle to
//! decode and parse (~2 ms here). Every AWS endpoint the functions call (DynamoDB, SES, SNS,
//! SSM) chains to Amazon's roots, which Mozilla's set holds (a test checks), so the OS store
//! buys nothing here. The set is as fresh as the `webpki-root-certs` release in `Cargo.lock`.

use aws_sdk_ssm::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use base64::Engine;

/// One client for every SDK client of the process (set on the `SdkConfig`), with the SDK's
/// own TLS settings (rustls on aws-lc, its cipher suites) and only the trust store replaced.
/// Certificates are parsed when the first request builds its connector.
pub fn https_client() -> SharedHttpClient {
    https_client_trusting(mozilla_roots_pem())
}

/// The SDK's HTTPS client trusting only the roots of `pem`.
fn https_client_trusting(pem: Vec<u8>) -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store of PEM certificates is always a valid TLS context");
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// Mozilla's roots as one PEM text: the SDK takes custom roots only in that form.
fn mozilla_roots_pem() -> Vec<u8> {
    let base64 = base64::engine::general_purpose::STANDARD;
    let mut pem = Vec::with_capacity(300 * 1024);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        // RFC 7468 wraps at 64 columns; readers take any line length, but keep to the form.
        let body = base64.encode(cert.as_ref());
        for line in body.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    fn parsed() -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(&mozilla_roots_pem())
            .collect::<Result<_, _>>()
            .expect("the PEM text parses")
    }

    #[test]
    fn the_pem_text_holds_every_mozilla_root_unchanged() {
        let roots = parsed();
        assert!(roots.len() > 100, "{} roots", roots.len());
        assert_eq!(roots, webpki_root_certs::TLS_SERVER_ROOT_CERTS);
    }

    /// The SDK adds each custom root to a `RootCertStore` with `expect("cert parsable")`: a
    /// root rustls cannot read would panic on the first request. And the roots AWS documents
    /// for its endpoints (Amazon Trust Services) must be among them.
    #[test]
    fn every_root_loads_and_the_roots_of_aws_endpoints_are_there() {
        let mut store = rustls::RootCertStore::empty();
        for cert in parsed() {
            store.add(cert).expect("a trust anchor");
        }
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = store.roots.iter().any(|anchor| {
                let subject: &[u8] = anchor.subject.as_ref();
                subject.windows(name.len()).any(|w| w == name.as_bytes())
            });
            assert!(found, "{name} is not in the trust store");
        }
    }

    const SELF_SIGNED: &[u8] = include_bytes!("../testdata/self-signed.pem");

    /// One TLS handshake on a local port with the self-signed certificate, through an SDK
    /// call whose client trusts `pem`; whether the server saw the handshake complete, and
    /// the SDK's error (there is no SSM behind the handshake).
    async fn handshake_trusting(pem: Vec<u8>) -> (bool, String) {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let cert = CertificateDer::from_pem_slice(SELF_SIGNED).unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("../testdata/self-signed.key")).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            acceptor.accept(socket).await.is_ok()
        });
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https_client_trusting(pem))
            .region(aws_config::Region::new("eu-south-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::for_tests())
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let err = aws_sdk_ssm::Client::new(&sdk)
            .get_parameter()
            .name("x")
            .send()
            .await
            .expect_err("nothing answers SSM's protocol");
        (server.await.unwrap(), format!("{err:?}"))
    }

    /// Through the SDK: the client builds its connector from Mozilla's roots (no panic) and
    /// refuses a server whose certificate none of them signed.
    #[tokio::test]
    async fn a_certificate_no_root_signed_is_refused() {
        let (completed, err) = handshake_trusting(mozilla_roots_pem()).await;
        assert!(!completed, "the handshake completed");
        assert!(
            err.contains("UnknownIssuer"),
            "refused for another reason: {err}"
        );
    }

    /// The same server is accepted by a client whose roots include its certificate: the
    /// custom roots are what the SDK verifies against.
    #[tokio::test]
    async fn a_certificate_a_root_signed_is_accepted() {
        let mut pem = mozilla_roots_pem();
        pem.extend_from_slice(SELF_SIGNED);
        let (completed, err) = handshake_trusting(pem).await;
        assert!(completed, "the handshake failed: {err}");
    }
}
