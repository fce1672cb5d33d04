//! How commands reach the adapter and acknowledgements leave it: the SQS queues of a
//! deployment (docs/platform.md), or the local gateway's stand-in (`/dev/platform/next` and
//! `/dev/platform/acks`). Either way each command is applied (tried 3 times, a moment apart)
//! before its acknowledgement is sent, and acknowledged before it leaves the queue: a crash
//! in between delivers it again, and the journal answers it again without applying it.

use crate::{Adapter, ack};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use titolare_domain::platform::{Ack, AckResult, Command};

/// Tries of one command before it is acknowledged as refused.
pub const ATTEMPTS: u32 = 3;

/// Applies `command`, trying again a moment later; after [`ATTEMPTS`] the refusal, with
/// the last reason (it names no personal datum: an error kind).
pub async fn apply_or_refuse(adapter: &mut Adapter, command: &Command) -> Ack {
    let mut reason = String::new();
    for attempt in 0..ATTEMPTS {
        match adapter.apply(command) {
            Ok(ack) => return ack,
            Err(e) => {
                eprintln!(
                    "titolare-dovecot: command {} not applied (try {}): {e}",
                    command.id.as_str(),
                    attempt + 1
                );
                reason = e.to_string();
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    ack(command, AckResult::Refused, Some(reason))
}

/// Serves the local gateway at `base` (e.g. `http://127.0.0.1:3000`) until killed.
pub async fn run_local(adapter: &mut Adapter, base: &str) -> ! {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let call = |method: &'static str, path: &str, body: Option<String>| {
        let client = client.clone();
        let uri = format!("{base}{path}");
        async move {
            let request = hyper::Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| e.to_string())?;
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        }
    };
    let mut told = false;
    loop {
        let commands: Vec<Command> = match call("GET", "/dev/platform/next", None).await {
            Ok((200, body)) => {
                told = false;
                serde_json::from_slice(&body).unwrap_or_default()
            }
            // Said once until the gateway answers again.
            Ok((status, _)) if !told => {
                told = true;
                eprintln!("titolare-dovecot: the gateway answered {status}");
                Vec::new()
            }
            Err(e) if !told => {
                told = true;
                eprintln!("titolare-dovecot: the gateway is unreachable: {e}");
                Vec::new()
            }
            _ => Vec::new(),
        };
        if commands.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        for command in commands {
            let ack = apply_or_refuse(adapter, &command).await;
            let body = serde_json::to_string(&ack).unwrap_or_default();
            // Not acknowledged: the gateway offers it again once its lease lapses.
            match call("POST", "/dev/platform/acks", Some(body)).await {
                Ok((200, _)) => {}
                other => eprintln!(
                    "titolare-dovecot: acknowledgement of {} not taken: {other:?}",
                    command.id.as_str()
                ),
            }
        }
    }
}

/// Serves a deployment's queues until killed: commands from the FIFO queue, acknowledgements
/// to the acknowledgement queue.
pub async fn run_sqs(
    adapter: &mut Adapter,
    client: &aws_sdk_sqs::Client,
    commands: &str,
    acks: &str,
) -> ! {
    loop {
        let received = client
            .receive_message()
            .queue_url(commands)
            .max_number_of_messages(10)
            .wait_time_seconds(10)
            .send()
            .await;
        let messages = match received {
            Ok(r) => r.messages.unwrap_or_default(),
            Err(e) => {
                eprintln!(
                    "titolare-dovecot: the command queue is unreachable: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for message in messages {
            let Ok(command) =
                serde_json::from_str::<Command>(message.body.as_deref().unwrap_or_default())
            else {
                // Never acknowledged: the queue's redrive policy dead-letters it.
                eprintln!("titolare-dovecot: a message of the command queue is no command");
                continue;
            };
            let ack = apply_or_refuse(adapter, &command).await;
            let sent = client
                .send_message()
                .queue_url(acks)
                .message_body(serde_json::to_string(&ack).unwrap_or_default())
                .send()
                .await;
            if let Err(e) = sent {
                eprintln!(
                    "titolare-dovecot: acknowledgement of {} not sent: {}",
                    command.id.as_str(),
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                );
                continue;
            }
            if let Some(receipt) = message.receipt_handle {
                let _ = client
                    .delete_message()
                    .queue_url(commands)
                    .receipt_handle(receipt)
                    .send()
                    .await;
            }
        }
    }
}
