//! Store calls per step of a transfer and the CPU time of a whole change of holder, through the
//! real handlers (`titolare_api::App`) over the embedded store, with no HTTP in between.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use titolare_api::{App, Services};
use titolare_domain::otp::{Channel, Party};
use titolare_domain::ports::{ChallengeStore, Fixtures, ItemState, OutboxStore, TransferReader};
use titolare_domain::secret::SecretKey;
use titolare_domain::transfer::{ItemKind, ItemRef, LinkToken, PasswordResetToken, TransferId};
use titolare_domain::values::MobileNumber;
use titolare_domain::{Account, AccountId, HolderId, Tipo};
use titolare_store::clock::SystemClock;
use titolare_store::conformance::{person, sample_domain, sample_mailbox};
use titolare_store::probes::CountingBackend;
use titolare_store::{ItemBackend, TableStore};

enum Who<'a> {
    Account(&'a str),
    Link(&'a str),
    Nobody,
}

struct World {
    app: App,
    store: Arc<TableStore>,
    counting: Arc<CountingBackend>,
    key: SecretKey,
}

impl World {
    /// The real handlers over `backend` (counted), with the product's rules.
    fn over(backend: Arc<dyn ItemBackend>, key: SecretKey) -> Self {
        let counting = Arc::new(CountingBackend::new(backend));
        let store = Arc::new(TableStore::new(counting.clone(), Arc::new(SystemClock)));
        Self {
            app: App::new(Services {
                store: store.clone(),
                clock: Arc::new(SystemClock),
                key: Some(key.clone()),
                codes: Default::default(),
                rules: Default::default(),
                metrics: Arc::new(titolare_domain::metrics::NoMetrics),
            }),
            store,
            counting,
            key,
        }
    }

    /// An account whose own holder (`current`) holds a mailbox and a domain, and the holder
    /// they are to move to (`new`), each with a number of its own, as in life: the SMS
    /// limits (and the size of their per-number logs) are per number.
    async fn seed_account(
        &self,
        account: &str,
        current: u64,
        new: u64,
        mailbox: &str,
        domain: &str,
    ) {
        let acc = AccountId::parse(account).unwrap();
        for (id, cognome, nome) in [(current, "Rossi", "Mario"), (new, "Bianchi", "Anna")] {
            let mut holder = person(id, Tipo::Privato, cognome, nome);
            holder.cellulare = MobileNumber::parse(&format!("+39 333 {id:07}")).unwrap();
            self.store.seed_holder(&acc, &holder).await.unwrap();
        }
        let owner = current.to_string();
        self.store
            .put_mailbox(&acc, &sample_mailbox(mailbox, &owner))
            .await
            .unwrap();
        self.store
            .put_domain(&acc, &sample_domain(domain, &owner))
            .await
            .unwrap();
        self.store
            .put_account(&Account {
                id: acc,
                username: account.into(),
                own_holder_id: Some(HolderId::from_number(current)),
                role: Default::default(),
                source_version: 0,
            })
            .await
            .unwrap();
    }

    async fn call(&self, method: &str, path: &str, who: Who<'_>, body: Value) -> Value {
        let mut req: Request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::Text(body.to_string()))
            .expect("request");
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.request_id = Some("bench".into());
        match who {
            Who::Account(account) => {
                let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
                jwt.claims.insert("sub".into(), account.into());
                let mut authorizer = ApiGatewayRequestAuthorizer::default();
                authorizer.jwt = Some(jwt);
                ctx.authorizer = Some(authorizer);
            }
            Who::Link(token) => {
                let value = format!("Bearer {token}").parse().expect("header");
                req.headers_mut().insert("authorization", value);
            }
            Who::Nobody => {}
        }
        req.extensions_mut()
            .insert(RequestContext::ApiGatewayV2(ctx));
        let response = self.app.handle(req).await;
        let status = response.status().as_u16();
        let Body::Text(text) = response.body() else {
            panic!("{method} {path}: no body")
        };
        assert!(status < 300, "{method} {path}: {status} {text}");
        serde_json::from_str(text).expect("JSON")
    }

    async fn code(&self, id: &TransferId, party: Party, channel: Channel) -> String {
        let c = self
            .store
            .challenge(id, party, channel)
            .await
            .unwrap()
            .unwrap();
        c.value.code(&self.key).reveal().to_owned()
    }
}

/// What one step of a flow cost.
#[derive(Clone, Copy)]
struct Step {
    name: &'static str,
    reads: u64,
    writes: u64,
    read_units: u64,
    write_units: u64,
    time: Duration,
}

/// A whole flow: its steps, and the messages it queued by channel.
struct Flow {
    steps: Vec<Step>,
    sms: u64,
    emails: u64,
}

/// One change of holder in account `n`: a mailbox and a domain to a privato, every step
/// of both holders, and the new holder's password reset. Returns each step's store calls,
/// request units and time, and the messages sent.
async fn one_flow(w: &World, n: u64) -> Flow {
    let account = format!("bench-{n}");
    let (mailbox, domain) = (format!("m{n}@pec.it"), format!("d{n}.it"));
    let (current, new) = (10 * n + 1, 10 * n + 2);
    w.seed_account(&account, current, new, &mailbox, &domain)
        .await;
    let acc = AccountId::parse(&account).unwrap();
    let mut steps = Vec::new();
    macro_rules! step {
        ($name:expr, $call:expr) => {{
            w.counting.reset();
            let started = Instant::now();
            let answer = $call.await;
            let elapsed = started.elapsed();
            let c = w.counting.counts();
            steps.push(Step {
                name: $name,
                reads: c.reads,
                writes: c.writes,
                read_units: c.read_units,
                write_units: c.write_units,
                time: elapsed,
            });
            answer
        }};
    }
    let items = json!([{"kind": "mailbox", "id": mailbox}, {"kind": "domain", "id": domain}]);
    let body =
        json!({"items": items, "management": {"mode": "keep"}, "new_holder_id": new.to_string()});
    let draft = step!(
        "create the draft",
        w.call("POST", "/v1/transfers", Who::Account(&account), body)
    );
    let id = TransferId::parse(draft["id"].as_str().unwrap()).unwrap();
    let codes = format!("/v1/transfers/{}/codes", id.as_str());
    let sms = json!({"channel": "sms"});
    step!(
        "initiator: send SMS code",
        w.call("POST", &codes, Who::Account(&account), sms.clone())
    );
    let code = w.code(&id, Party::Initiator, Channel::Sms).await;
    let verify = json!({"channel": "sms", "code": code});
    step!(
        "initiator: verify (opens, invites)",
        w.call(
            "POST",
            &format!("{codes}/verify"),
            Who::Account(&account),
            verify
        )
    );
    let decisions =
        json!({"decisions": [{"item": mailbox, "accept": true}, {"item": domain, "accept": true}]});
    for party in [Party::CurrentHolder, Party::NewHolder] {
        let link = LinkToken::issue(&w.key, &id, party);
        let who = || Who::Link(&link);
        let (decide, send, check) = if party == Party::CurrentHolder {
            (
                "current holder: decisions",
                "current holder: send SMS code",
                "current holder: verify SMS",
            )
        } else {
            (
                "new holder: decisions",
                "new holder: send SMS code",
                "new holder: verify SMS",
            )
        };
        step!(
            decide,
            w.call("POST", "/v1/party/decisions", who(), decisions.clone())
        );
        if party == Party::NewHolder {
            let accepted = json!({"accepted": ["condizioni-generali", "privacy"]});
            step!(
                "new holder: contract",
                w.call("POST", "/v1/party/contract", who(), accepted)
            );
        }
        step!(send, w.call("POST", "/v1/party/codes", who(), sms.clone()));
        let code = w.code(&id, party, Channel::Sms).await;
        step!(
            check,
            w.call(
                "POST",
                "/v1/party/codes/verify",
                who(),
                json!({"channel": "sms", "code": code})
            )
        );
        if party == Party::NewHolder {
            let email = json!({"channel": "email"});
            step!(
                "new holder: send email code",
                w.call("POST", "/v1/party/codes", who(), email)
            );
            let code = w.code(&id, party, Channel::Email).await;
            let verify = json!({"channel": "email", "code": code});
            let done = step!(
                "new holder: verify email (completes)",
                w.call("POST", "/v1/party/codes/verify", who(), verify)
            );
            assert_eq!(done["status"], "completed");
        }
    }
    let item = ItemRef::parse(ItemKind::Mailbox, &mailbox).unwrap();
    let Some(Some(ItemState::Mailbox(m))) = w.store.items(&acc, &[item]).await.unwrap().pop()
    else {
        panic!("the mailbox")
    };
    let issued = m.value.password_reset_issued_at.expect("a reset pending");
    let change = m.value.moved_by.clone().expect("moved by the request");
    let token = PasswordResetToken::issue(&w.key, &acc, &m.value.address, issued, &change);
    let reset = json!({"token": token, "password": "Nuova-Password-2026"});
    step!(
        "new holder: password reset (argon2id)",
        w.call("POST", "/v1/password-reset", Who::Nobody, reset)
    );
    let messages = w.store.outbox_messages(&id).await.unwrap();
    let sms = messages
        .iter()
        .filter(|m| m.channel == Channel::Sms)
        .count() as u64;
    Flow {
        steps,
        sms,
        emails: messages.len() as u64 - sms,
    }
}

/// Process CPU time (user + system) so far, from /proc (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

pub async fn step_costs(report: &mut String) {
    const FLOWS: u64 = 200;
    let dir = std::env::temp_dir().join(format!("titolare-bench-steps-{}", std::process::id()));
    let embedded: Arc<dyn ItemBackend> = Arc::new(
        titolare_store_embedded::EmbeddedBackend::open(&dir.join("steps.redb")).expect("store"),
    );
    let w = World::over(embedded, SecretKey::from_bytes(&[3; 32]).unwrap());
    let mut totals: Vec<Step> = Vec::new();
    let (mut sms, mut emails) = (0, 0);
    let (cpu_before, wall) = (cpu_time(), Instant::now());
    for n in 1..=FLOWS {
        let flow = one_flow(&w, n).await;
        (sms, emails) = (sms + flow.sms, emails + flow.emails);
        for (i, step) in flow.steps.into_iter().enumerate() {
            match totals.get_mut(i) {
                Some(t) => {
                    t.reads += step.reads;
                    t.writes += step.writes;
                    t.read_units += step.read_units;
                    t.write_units += step.write_units;
                    t.time += step.time;
                }
                None => totals.push(step),
            }
        }
    }
    let wall = wall.elapsed();
    let cpu = cpu_before.zip(cpu_time()).map(|(a, b)| b - a);
    let reset_time = totals.last().map(|t| t.time).unwrap_or_default();
    let _ = writeln!(
        report,
        "\n## Store calls per step of a transfer\n\nThe full change of holder of a mailbox and a domain (keep, new holder privato) through the real handlers over the embedded store, {FLOWS} times; calls per step (reads: GetItem/Query; writes: one transaction or sequence each), and the on-demand request units DynamoDB would bill for them (reads strongly consistent, 1 unit per started 4 KB returned; every transaction action 2 write units per started KB of its item; sizes are the items' JSON length, a little above DynamoDB's measure). Goal: 1 read + 1 write a step.\n\n| step | reads | writes | read units | write units | µs (mean) |\n|---|---:|---:|---:|---:|---:|"
    );
    let mut all = Step {
        name: "whole flow",
        reads: 0,
        writes: 0,
        read_units: 0,
        write_units: 0,
        time: Duration::ZERO,
    };
    for t in &totals {
        all.reads += t.reads;
        all.writes += t.writes;
        all.read_units += t.read_units;
        all.write_units += t.write_units;
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} | {} | {} |",
            t.name,
            t.reads / FLOWS,
            t.writes / FLOWS,
            t.read_units / FLOWS,
            t.write_units / FLOWS,
            t.time.as_micros() as u64 / FLOWS
        );
    }
    let _ = writeln!(
        report,
        "| **whole flow** | **{}** | **{}** | **{}** | **{}** | |",
        all.reads / FLOWS,
        all.writes / FLOWS,
        all.read_units / FLOWS,
        all.write_units / FLOWS
    );
    let per_flow = |d: Duration| d.as_secs_f64() * 1000.0 / FLOWS as f64;
    let cpu_ms = cpu.map(per_flow).unwrap_or(f64::NAN);
    let _ = writeln!(
        report,
        "\n## CPU time of a whole flow\n\n{FLOWS} flows (every step above, seeding included) on one thread: **{:.2} ms CPU** per flow ({:.2} ms wall, durable commits included); the password-reset step alone, an argon2id hash (19 MiB, 2 passes), takes {:.2} ms wall.",
        cpu_ms,
        per_flow(wall),
        per_flow(reset_time)
    );
    cost(
        report,
        &Usage {
            steps: totals.len() as u64,
            store_calls: (all.reads + all.writes) / FLOWS,
            read_units: all.read_units as f64 / FLOWS as f64,
            write_units: all.write_units as f64 / FLOWS as f64,
            sms: sms as f64 / FLOWS as f64,
            emails: emails as f64 / FLOWS as f64,
            cpu_ms,
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cold-start benchmark's fixture: on a fresh DynamoDB table of `endpoint`, the demo
/// data and one request opened by its initiator (account `cold`), with both holders' links
/// signed by `key`. Prints what the benchmark's first requests need, as JSON.
pub async fn coldstart_fixture(key: SecretKey) -> Value {
    // No stream: moto copies the whole stream history on every transaction, which would
    // time moto, not the functions, as the table grows over the runs.
    let (client, table) =
        titolare_store_dynamodb::testing::fresh_table_without_stream("coldstart").await;
    let dynamo: Arc<dyn ItemBackend> = Arc::new(titolare_store_dynamodb::DynamoBackend::new(
        client,
        table.clone(),
    ));
    let w = World::over(dynamo, key);
    titolare_local::seed::demo(&*w.store)
        .await
        .expect("demo data");
    let account = "cold";
    let (mailbox, domain) = ("cold@pec.it", "cold.it");
    w.seed_account(account, 1, 2, mailbox, domain).await;
    let items = json!([{"kind": "mailbox", "id": mailbox}, {"kind": "domain", "id": domain}]);
    let body = json!({"items": items, "management": {"mode": "keep"}, "new_holder_id": "2"});
    let draft = w
        .call("POST", "/v1/transfers", Who::Account(account), body)
        .await;
    let id = TransferId::parse(draft["id"].as_str().unwrap()).unwrap();
    let codes = format!("/v1/transfers/{}/codes", id.as_str());
    w.call(
        "POST",
        &codes,
        Who::Account(account),
        json!({"channel": "sms"}),
    )
    .await;
    let code = w.code(&id, Party::Initiator, Channel::Sms).await;
    w.call(
        "POST",
        &format!("{codes}/verify"),
        Who::Account(account),
        json!({"channel": "sms", "code": code}),
    )
    .await;
    let rules = titolare_domain::steps::Rules::default();
    json!({
        "conditions": rules.conditions,
        "change_of_name_url": rules.change_of_name_url,
        "support_url": rules.support_url,
        "table": table,
        "account": account,
        "transfer": id.as_str(),
        "current_holder_link": LinkToken::issue(&w.key, &id, Party::CurrentHolder),
        "new_holder_link": LinkToken::issue(&w.key, &id, Party::NewHolder),
    })
}

/// What one completed change of holder uses, per flow.
struct Usage {
    /// HTTP calls that change something (one Lambda invocation and one API request each).
    steps: u64,
    store_calls: u64,
    read_units: f64,
    write_units: f64,
    sms: f64,
    emails: f64,
    /// The handlers' CPU over the embedded store (the argon2id hash most of it).
    cpu_ms: f64,
}

/// Public on-demand prices, US East (N. Virginia), as AWS listed them in 2025 (not re-read
/// here: the bench runs offline). SMS prices are per country and change often: the figure
/// is an assumption for Italy, to be replaced by the current AWS End User Messaging price.
mod price {
    pub const REGION: &str = "us-east-1 (N. Virginia), AWS's public price lists as of 2025";
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// arm64.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    pub const SES_EMAIL: f64 = 0.10 / 1e3;
    /// An assumption (see above), per SMS of one part (the codes are one part).
    pub const SMS_ITALY: f64 = 0.07;
    /// A DynamoDB call from Lambda in the same region, for the duration estimate.
    pub const STORE_CALL_MS: f64 = 8.0;
}

fn cost(report: &mut String, u: &Usage) {
    use price::*;
    // Lambda bills wall time: the CPU stretched by the share of a vCPU a 256 MB function
    // gets (256/1769), plus the wait for each store call; then one dispatch invocation per
    // message (the stream's batches are mostly one record: they are written a step apart),
    // at 20 ms each (one provider call) — an estimate, not a measure.
    let invocations = u.steps as f64 + u.sms + u.emails;
    let step_seconds = (u.cpu_ms * 1769.0 / 256.0 + u.store_calls as f64 * STORE_CALL_MS) / 1e3;
    let dispatch_seconds = (u.sms + u.emails) * 0.020;
    let gb_seconds = (step_seconds + dispatch_seconds) * 0.25;
    let lines = [
        ("DynamoDB write units", u.write_units, DYNAMODB_WRITE_UNIT),
        ("DynamoDB read units", u.read_units, DYNAMODB_READ_UNIT),
        ("Lambda invocations", invocations, LAMBDA_REQUEST),
        (
            "Lambda GB-seconds (256 MB, arm64)",
            gb_seconds,
            LAMBDA_GB_SECOND,
        ),
        ("HTTP API requests", u.steps as f64, HTTP_API_REQUEST),
        ("emails (SES)", u.emails, SES_EMAIL),
        ("SMS to Italy (assumed price)", u.sms, SMS_ITALY),
    ];
    let _ = writeln!(
        report,
        "\n## What a change of holder costs\n\nOne completed change of holder of the flow above (a mailbox and a domain, both holders' steps, the password reset): its counted store calls and request units, one Lambda invocation and API request per step, one dispatch invocation per message, Lambda time estimated from the measured CPU ({:.2} ms, stretched by 1769/256 for a 256 MB function) plus {STORE_CALL_MS} ms per store call, and the messages it sent. Prices: {REGION}; the panel's page loads and status polls, CloudWatch logs and metrics, and the free tiers are left out.\n\n| what | per change | USD per change | USD per 1,000 |\n|---|---:|---:|---:|",
        u.cpu_ms
    );
    let mut total = 0.0;
    let mut without_sms = 0.0;
    for (what, quantity, unit_price) in lines {
        let usd = quantity * unit_price;
        total += usd;
        if !what.starts_with("SMS") {
            without_sms += usd;
        }
        let _ = writeln!(
            report,
            "| {what} | {quantity:.2} | {usd:.6} | {:.3} |",
            usd * 1000.0
        );
    }
    let _ = writeln!(
        report,
        "| **total** | | **{total:.4}** | **{:.2}** |\n\nWithout the SMS: **{without_sms:.6} USD** per change, **{:.3} USD** per 1,000 — the SMS codes are {:.0} % of the cost.",
        total * 1000.0,
        without_sms * 1000.0,
        100.0 * (total - without_sms) / total
    );
}
