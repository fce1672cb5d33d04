//! The SNS and SES v2 adapters against moto, reading what was sent back through
//! `/moto-api/data.json`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use titolare_domain::otp::Channel;
use titolare_messaging::{AwsMessenger, Envelope, Messenger};
use titolare_store_dynamodb::testing;

async fn moto_data(endpoint: &str) -> Value {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .get(format!("{endpoint}/moto-api/data.json").parse().unwrap())
        .await
        .unwrap();
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

async fn messenger(endpoint: &str, from: &str) -> AwsMessenger {
    let config = testing::sdk_config(endpoint).await;
    let ses = aws_sdk_sesv2::Client::new(&config);
    ses.create_email_identity()
        .email_identity(from)
        .send()
        .await
        .expect("verify the sender identity");
    AwsMessenger {
        sns: aws_sdk_sns::Client::new(&config),
        ses,
        from: from.to_owned(),
        sender_id: "PECInfo".into(),
        configuration_set: None,
    }
}

#[tokio::test]
async fn sms_and_email_reach_the_providers() {
    let endpoint = testing::moto_endpoint().await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let to_email = format!("nuovo.{nanos}@example.it");
    let to_phone = format!("+39333{:07}", nanos % 10_000_000);
    let m = messenger(&endpoint, "noreply@pec.example.it").await;
    let sms = Envelope {
        channel: Channel::Sms,
        to: to_phone.clone(),
        subject: String::new(),
        text: format!("123456 è il codice {nanos}"),
        html: String::new(),
    };
    let sms_id = m.send(&sms).await.expect("SNS publish");
    assert!(!sms_id.is_empty());
    let email = Envelope {
        channel: Channel::Email,
        to: to_email.clone(),
        subject: "Codice di verifica".into(),
        text: format!("Il codice è 654321 ({nanos})"),
        html: "<p>Il codice è 654321</p>".into(),
    };
    let email_id = m.send(&email).await.expect("SES send");
    assert!(!email_id.is_empty());

    let data = moto_data(&endpoint).await;
    let sms = data["sns"]["SMS"].as_array().expect("moto's SMS list");
    assert!(
        sms.iter().any(|s| s["phone_number"] == to_phone.as_str()
            && s["message"]
                .as_str()
                .is_some_and(|m| m.contains(&nanos.to_string()))
            && s["message_id"] == sms_id.as_str()),
        "the SMS is in moto"
    );
    let emails = data["ses"]["Message"]
        .as_array()
        .expect("moto's SES messages")
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>();
    assert!(
        emails.iter().any(|e| e.contains(&to_email)
            && e.contains(&nanos.to_string())
            && e.contains(&email_id)),
        "the email is in moto"
    );
}

#[tokio::test]
async fn an_unverified_sender_is_a_send_error() {
    let endpoint = testing::moto_endpoint().await;
    let config = testing::sdk_config(&endpoint).await;
    let m = AwsMessenger {
        sns: aws_sdk_sns::Client::new(&config),
        ses: aws_sdk_sesv2::Client::new(&config),
        from: "nobody@unverified.example".into(),
        sender_id: "PECInfo".into(),
        configuration_set: None,
    };
    let email = Envelope {
        channel: Channel::Email,
        to: "x@example.it".into(),
        subject: "s".into(),
        text: "t".into(),
        html: "<p>t</p>".into(),
    };
    let err = m.send(&email).await.unwrap_err();
    assert_eq!(err.provider, "ses");
    assert!(
        !err.to_string().contains("x@example.it"),
        "the error names no recipient"
    );
}
