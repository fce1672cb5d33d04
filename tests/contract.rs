//! One source of truth: the route table, the OpenAPI file, template.yaml and the crates
//! under functions/ describe the same routes.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use titolare_api::routes::{Auth, ROUTES};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn table() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect()
}

#[test]
fn openapi_describes_exactly_the_route_table() {
    let spec = yaml("infra/openapi/openapi.yaml");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut described = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                described.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert_eq!(described, table());
}

/// The check every end-to-end answer goes through (support/openapi.rs) refuses what the file
/// does not say: a field it does not name, a field it requires missing, a wrong type, a status
/// it does not list; and accepts the answer as documented.
#[test]
fn the_contract_check_refuses_what_the_openapi_file_does_not_say() {
    use titolare_e2e::openapi::check;
    let sent = json!({
        "channel": "sms",
        "destination": "+39*****567",
        "expires_at": "2026-12-04T10:00:00Z",
        "resend_after": "2026-12-04T09:51:00Z",
        "sends_left": 4,
    });
    let path = "/v1/transfers/42/codes";
    check("POST", path, 202, "application/json", &sent);
    let refused = |status: u16, body: Value| {
        std::panic::catch_unwind(|| check("POST", path, status, "application/json", &body)).is_err()
    };
    let mut extra = sent.clone();
    extra["code"] = json!("123456");
    assert!(refused(202, extra), "a field the file does not name");
    let mut missing = sent.clone();
    missing.as_object_mut().unwrap().remove("sends_left");
    assert!(refused(202, missing), "a required field missing");
    let mut wrong = sent.clone();
    wrong["sends_left"] = json!("4");
    assert!(refused(202, wrong), "a wrong type");
    assert!(refused(299, sent), "a status the file does not list");
}

#[test]
fn template_deploys_exactly_the_route_table() {
    let template = yaml("template.yaml");
    let mut deployed = BTreeSet::new();
    let mut functions = BTreeSet::new();
    for (name, resource) in template["Resources"].as_object().expect("Resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let code = resource["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let function = code
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        for event in resource["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flat_map(|e| e.values())
        {
            if event["Type"] == "HttpApi" {
                let method = event["Properties"]["Method"]
                    .as_str()
                    .unwrap()
                    .to_uppercase();
                let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
                let route = ROUTES
                    .iter()
                    .find(|r| r.method == method && r.path == path)
                    .unwrap_or_else(|| panic!("{name}: {method} {path} is not in the route table"));
                assert_eq!(
                    route.function, function,
                    "{name} deploys {method} {path} from the wrong crate"
                );
                let no_authorizer = event["Properties"]["Auth"]["Authorizer"] == "NONE";
                assert_eq!(
                    no_authorizer,
                    !matches!(route.auth, Auth::Account | Auth::Operator),
                    "{name}: the JWT authorizer guards account and operator routes only"
                );
                deployed.insert((method, path));
            }
        }
        functions.insert(function);
    }
    assert_eq!(deployed, table());
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        functions, crates,
        "every function crate is deployed, and only those"
    );
    let routed: BTreeSet<String> = ROUTES.iter().map(|r| r.function.to_owned()).collect();
    let unrouted: Vec<_> = crates.difference(&routed).collect();
    assert_eq!(
        unrouted,
        [
            "dispatch",
            "email-events",
            "expirer",
            "inventory-ingest",
            "platform-acks",
            "sms-events",
            "ttl-backstop"
        ],
        "only the stream, queue and event consumers and the schedule serve no route"
    );
}

fn function<'a>(template: &'a Value, crate_name: &str) -> &'a Value {
    template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| {
            r["Properties"]["CodeUri"].as_str() == Some(&format!("target/lambda/{crate_name}/"))
        })
        .unwrap_or_else(|| panic!("{crate_name} is not deployed"))
}

#[test]
fn functions_get_the_secret_key_exactly_when_their_routes_need_it() {
    let template = yaml("template.yaml");
    for route in ROUTES {
        let f = function(&template, route.function);
        let has = f["Properties"]["Environment"]["Variables"]["SECRET_KEY_PARAMETER"].is_object();
        let needs = titolare_api::routes::of_function(route.function)
            .iter()
            .any(|r| r.needs_secret());
        assert_eq!(has, needs, "{}: secret key", route.function);
        assert_eq!(
            may_read_the_key(f),
            needs,
            "{}: the key's policy",
            route.function
        );
    }
    assert!(may_read_the_key(function(&template, "dispatch")));
    // Nothing else may decrypt or read parameters: only the one managed policy, which
    // decrypts through SSM and only that parameter's ciphertext.
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert_eq!(
        text.matches("kms:Decrypt").count(),
        1,
        "one grant to decrypt"
    );
    assert_eq!(
        text.matches("ssm:GetParameter").count(),
        1,
        "one grant to read it"
    );
    let key = &template["Resources"]["SecretKeyRead"]["Properties"]["PolicyDocument"];
    let condition = &key["Statement"][1]["Condition"]["StringEquals"];
    assert!(condition["kms:ViaService"].is_object());
    assert_eq!(
        condition["kms:EncryptionContext:PARAMETER_ARN"], key["Statement"][0]["Resource"],
        "the parameter read is the only one decrypted"
    );
}

fn may_read_the_key(function: &Value) -> bool {
    function["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["Ref"] == "SecretKeyRead")
}

/// The dispatcher sends SMS to phone numbers only (no topic, no endpoint) and email from
/// `EmailFrom` only.
#[test]
fn the_dispatcher_sends_only_what_it_must() {
    let template = yaml("template.yaml");
    let statements = function(&template, "dispatch")["Properties"]["Policies"][0]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let of = |action: &str| -> Vec<&Value> {
        statements
            .iter()
            .filter(|s| s["Action"] == action)
            .collect()
    };
    let sns = of("sns:Publish");
    let topics = json!({"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"});
    assert!(sns.iter().all(|s| s.get("Resource") != Some(&json!("*"))));
    assert!(
        sns.iter()
            .any(|s| s["Effect"] == "Allow" && s["NotResource"] == topics)
    );
    assert!(
        sns.iter()
            .any(|s| s["Effect"] == "Deny" && s["Resource"] == topics)
    );
    let ses = of("ses:SendEmail");
    assert_eq!(ses.len(), 1);
    let identities = ses[0]["Resource"].to_string();
    assert!(!identities.contains("identity/*"), "{identities}");
    assert!(identities.contains("identity/${EmailFrom}"), "{identities}");
    assert_eq!(
        ses[0]["Condition"]["StringEquals"]["ses:FromAddress"]["Ref"],
        "EmailFrom"
    );
    let publishers: Vec<&String> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .filter(|(_, r)| {
            r["Properties"]["Policies"]
                .to_string()
                .contains("sns:Publish")
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        publishers,
        ["DispatchFunction"],
        "only the dispatcher publishes"
    );
}

/// A dispatcher's claim on a message outlasts the longest run of the function that makes it:
/// a shorter lease would let the sweep send a message its claimant is still sending.
#[test]
fn a_dispatch_claim_outlasts_the_dispatch_function() {
    let template = yaml("template.yaml");
    let lease = titolare_domain::outbox::DISPATCH_LEASE.as_secs();
    let timeout = function(&template, "dispatch")["Properties"]["Timeout"]
        .as_i64()
        .or_else(|| template["Globals"]["Function"]["Timeout"].as_i64())
        .expect("a timeout");
    assert!(lease > 2 * timeout, "lease {lease} s, timeout {timeout} s");
}

#[test]
fn the_expirer_runs_every_five_minutes_and_stream_consumers_are_guarded() {
    let template = yaml("template.yaml");
    let expirer = &function(&template, "expirer")["Properties"]["Events"];
    let schedule = expirer.as_object().unwrap().values().next().unwrap();
    assert_eq!(schedule["Type"], "ScheduleV2");
    assert_eq!(
        schedule["Properties"]["ScheduleExpression"],
        "rate(5 minutes)"
    );
    for (consumer, filter) in [
        ("dispatch", "\"INSERT\""),
        ("ttl-backstop", "dynamodb.amazonaws.com"),
    ] {
        let events = &function(&template, consumer)["Properties"]["Events"];
        let stream = events.as_object().unwrap().values().next().unwrap();
        let p = &stream["Properties"];
        assert_eq!(stream["Type"], "DynamoDB", "{consumer}");
        assert_eq!(p["BisectBatchOnFunctionError"], true, "{consumer}");
        assert!(
            p["DestinationConfig"]["OnFailure"]["Destination"].is_object(),
            "{consumer}"
        );
        assert_eq!(
            p["FunctionResponseTypes"][0], "ReportBatchItemFailures",
            "{consumer}"
        );
        let pattern = p["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .unwrap();
        assert!(pattern.contains(filter), "{consumer}: {pattern}");
        serde_json::from_str::<Value>(pattern).expect("filter patterns are JSON");
    }
}

#[test]
fn every_function_reads_the_table_it_is_allowed() {
    let template = yaml("template.yaml");
    for (name, resource) in template["Resources"].as_object().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let actions: Vec<&str> = resource["Properties"]["Policies"][0]["Statement"][0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            !actions
                .iter()
                .any(|a| a.contains("Scan") || a.ends_with('*')),
            "{name} may not scan or wildcard"
        );
        let methods: Vec<&str> = resource["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flat_map(|e| e.values())
            .filter(|e| e["Type"] == "HttpApi")
            .filter_map(|e| e["Properties"]["Method"].as_str())
            .collect();
        if !methods.is_empty() && methods.iter().all(|m| *m == "GET") {
            // The listings read their items' locks together (`for_transfer=true`).
            let reads: &[&str] =
                if name.ends_with("ListFunction") && name != "OperationsListFunction" {
                    &[
                        "dynamodb:GetItem",
                        "dynamodb:Query",
                        "dynamodb:BatchGetItem",
                    ]
                } else {
                    &["dynamodb:GetItem", "dynamodb:Query"]
                };
            assert_eq!(actions, reads, "{name} only reads");
        }
    }
}

/// The panel is served with one policy: CloudFront's response headers in AWS are the local
/// gateway's, with only the identity provider added to `connect-src`; and the distribution
/// sends /v1/* to the API and the rest to the panel's bucket.
#[test]
fn the_panel_is_served_alike_locally_and_on_aws() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let headers = &resources["PanelHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"];
    let csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"][0]
        .as_str()
        .expect("the CSP is a Fn::Sub with variables");
    assert_eq!(
        csp.replace(
            "connect-src 'self' ${IssuerOrigin} ${OidcExtraOrigins}",
            "connect-src 'self'"
        ),
        titolare_local::web::CONTENT_SECURITY_POLICY
    );
    assert_eq!(headers["ReferrerPolicy"]["ReferrerPolicy"], "no-referrer");
    assert_eq!(headers["FrameOptions"]["FrameOption"], "DENY");
    assert_eq!(headers["ContentTypeOptions"]["Override"], true);

    let config = &resources["PanelDistribution"]["Properties"]["DistributionConfig"];
    assert_eq!(config["DefaultCacheBehavior"]["TargetOriginId"], "panel");
    let api = config["CacheBehaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["PathPattern"] == "/v1/*")
        .expect("a behaviour for the API");
    assert_eq!(api["TargetOriginId"], "api");
    assert!(
        ROUTES.iter().all(|r| r.path.starts_with("/v1/")),
        "every route is under the distribution's /v1/*"
    );
    // The bucket is private: only the distribution reads it.
    let block = &resources["PanelBucket"]["Properties"]["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting], true, "{setting}");
    }
    // The page paths CloudFront rewrites are those the local gateway serves.
    let paths = resources["PanelPaths"]["Properties"]["FunctionCode"]
        .as_str()
        .unwrap();
    for (path, file) in [
        ("'/'", "'/index.html'"),
        ("'/gestisci'", "'/gestisci.html'"),
        ("'/password'", "'/password.html'"),
        ("'/blocca'", "'/blocca.html'"),
    ] {
        assert!(paths.contains(&format!("{path}: {file}")), "{path}");
    }
}

/// What an operator watches: every alarm goes to the alarm topic, the alarms the service
/// needs are there, and every metric of the service's namespace the alarms and the dashboard
/// read is one the functions publish (a misspelt name would alarm on nothing).
#[test]
fn alarms_and_dashboard_read_what_the_functions_publish() {
    use titolare_domain::metrics::PUBLISHED;
    let template = yaml("template.yaml");
    let resources = template["Resources"].as_object().unwrap();
    let mut read = Vec::new();
    let mut watched = Vec::new();
    for (name, resource) in resources {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let p = &resource["Properties"];
        assert_eq!(
            p["AlarmActions"][0]["Ref"], "AlarmTopic",
            "{name} tells the alarm topic"
        );
        let mut metrics = vec![(p["Namespace"].clone(), p["MetricName"].clone())];
        for m in p["Metrics"].as_array().into_iter().flatten() {
            let metric = &m["MetricStat"]["Metric"];
            metrics.push((metric["Namespace"].clone(), metric["MetricName"].clone()));
        }
        for (namespace, metric) in metrics {
            if let (Some(ns), Some(metric)) = (namespace.as_str(), metric.as_str()) {
                watched.push(format!("{ns}/{metric}"));
                if ns == titolare_lambda::emf::NAMESPACE {
                    read.push(metric.to_owned());
                }
            }
        }
    }
    for needed in [
        "AWS/SQS/ApproximateNumberOfMessagesVisible",
        "Titolare/MessagesFailed",
        "Titolare/ExpirerLag",
        "AWS/Lambda/Errors",
        "AWS/ApiGateway/5xx",
        "AWS/SNS/SMSMonthToDateSpentUSD",
    ] {
        assert!(watched.iter().any(|w| w == needed), "no alarm on {needed}");
    }
    let body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("the dashboard body");
    for (at, _) in body.match_indices("[\"Titolare\", \"") {
        let rest = &body[at + "[\"Titolare\", \"".len()..];
        read.push(rest[..rest.find('"').unwrap()].to_owned());
    }
    assert!(read.len() > 10, "{read:?}");
    for metric in &read {
        assert!(
            PUBLISHED.contains(&metric.as_str()),
            "{metric} is not published"
        );
    }
    // Every function keeps its logs for a set time.
    let functions = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .count();
    let log_groups = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Logs::LogGroup")
        .filter(|r| r["Properties"]["RetentionInDays"]["Ref"] == "LogRetentionDays")
        .count();
    assert_eq!(
        log_groups,
        functions + 3,
        "one per function, the API's access log and SNS's two SMS delivery logs"
    );
}

/// The API is reachable only through CloudFront and its web ACL: the distribution names the
/// web ACL, CloudFront sends the secret header the functions require, and the web ACL limits
/// per address every route a call without an account can reach — the ones that send, check
/// or set something (those the API throttles tighter) most tightly.
#[test]
fn the_api_is_behind_cloudfront_and_its_web_acl() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let distribution = &resources["PanelDistribution"]["Properties"]["DistributionConfig"];
    assert_eq!(distribution["WebACLId"]["Ref"], "WebAclArn");
    let secret =
        json!({"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"});
    let api = distribution["Origins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["Id"] == "api")
        .expect("the API origin");
    let headers = api["OriginCustomHeaders"]
        .as_array()
        .expect("origin headers");
    assert!(
        headers.iter().any(|h| h["HeaderName"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(titolare_api::ORIGIN_VERIFY_HEADER))
            && h["HeaderValue"] == secret),
        "{headers:?}"
    );
    assert_eq!(
        template["Globals"]["Function"]["Environment"]["Variables"]["ORIGIN_VERIFY_SECRET"],
        secret
    );
    assert_eq!(
        resources["OriginVerifySecret"]["Type"],
        "AWS::SecretsManager::Secret"
    );

    let acl = yaml("infra/edge/web-acl.yaml");
    let acl = &acl["Resources"]["WebAcl"]["Properties"];
    assert_eq!(acl["Scope"], "CLOUDFRONT");
    let rule = |name: &str| {
        let rule = acl["Rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["Name"] == name)
            .unwrap_or_else(|| panic!("rule {name}"));
        let rate = &rule["Statement"]["RateBasedStatement"];
        assert_eq!(rate["AggregateKeyType"], "IP", "{name}");
        assert!(rule["Action"]["Block"].is_object(), "{name}");
        rate["ScopeDownStatement"].clone()
    };
    // Every path a scope-down statement matches, with how.
    fn matches(statement: &Value, out: &mut Vec<(String, String)>) {
        if let Some(m) = statement.get("ByteMatchStatement")
            && m["FieldToMatch"]["UriPath"].is_object()
        {
            out.push((
                m["PositionalConstraint"].as_str().unwrap().to_owned(),
                m["SearchString"].as_str().unwrap().to_owned(),
            ));
        }
        for group in ["AndStatement", "OrStatement"] {
            for inner in statement[group]["Statements"]
                .as_array()
                .into_iter()
                .flatten()
            {
                matches(inner, out);
            }
        }
    }
    let covered = |name: &str, path: &str| {
        let mut paths = Vec::new();
        matches(&rule(name), &mut paths);
        paths.iter().any(|(how, p)| match how.as_str() {
            "EXACTLY" => p == path,
            "STARTS_WITH" => path.starts_with(p.as_str()),
            other => panic!("{name}: {other}"),
        })
    };
    // The tight rule counts POST calls only (a page reads the status of its codes freely).
    let sends = rule("SendsPerAddress");
    let method = &sends["AndStatement"]["Statements"][0]["ByteMatchStatement"];
    assert!(method["FieldToMatch"]["Method"].is_object() && method["SearchString"] == "POST");
    let throttled = template["Resources"]["HttpApi"]["Properties"]["RouteSettings"]
        .as_object()
        .unwrap();
    for route in ROUTES
        .iter()
        .filter(|r| !matches!(r.auth, Auth::Account | Auth::Operator))
    {
        assert!(
            covered("LinkRoutesPerAddress", route.path),
            "{}",
            route.path
        );
        assert!(covered("ApiPerAddress", route.path), "{}", route.path);
        let tight = throttled.contains_key(&format!("{} {}", route.method, route.path));
        assert_eq!(
            route.method == "POST" && covered("SendsPerAddress", route.path),
            tight,
            "{} {}: limited per address as tightly as the API throttles it",
            route.method,
            route.path
        );
    }
}

/// The inventory's JSON Schema (infra/events/inventory-v1.schema.json) and the Rust types
/// that read it (titolare_domain::inventory) accept and refuse the same messages, and what
/// the types write back is valid by the schema.
#[test]
fn inventory_messages_and_their_schema_agree() {
    use titolare_domain::inventory::InventoryMessage;
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("infra/events/inventory-v1.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let mailbox = json!({
        "address": "teste1234@pec.it", "holder_id": "534905", "status": "Attivo",
        "kind": "Standard", "inbox_gb": 1, "inbox_extra_gb": 0, "archive_gb": null,
        "end_of_service": "2027-11-30", "requested_on": "2025-11-30",
        "certified_on": "2025-12-01", "cancelled_on": null,
        "renewal": "Automatico", "duration": "1 Anno", "cliente_finale": false,
        "access_history": [{ "at": "2026-11-20T09:15:00Z", "ip": "198.51.100.7", "client": "webmail" }],
        "rules": ["Sposta le fatture nella cartella Fatture"],
    });
    let domain = json!({
        "name": "testazienda-pec.it", "holder_id": "534905", "status": "Certificato",
        "registered_on": "2025-01-10", "end_of_service": "2027-01-10",
    });
    let head = |kind: &str| json!({ "schema": 1, "version": 3, "type": kind });
    let with = |mut v: Value, extra: Value| {
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let valid = [
        with(
            head("account.upserted"),
            json!({ "account": { "id": "demo", "username": "demo", "role": "rivenditore", "own_holder_id": "19" } }),
        ),
        with(
            head("mailbox.upserted"),
            json!({ "account": "demo", "mailbox": mailbox }),
        ),
        with(
            head("mailbox.removed"),
            json!({ "account": "demo", "address": "teste1234@pec.it" }),
        ),
        with(
            head("domain.upserted"),
            json!({ "account": "demo", "domain": domain }),
        ),
        with(
            head("domain.removed"),
            json!({ "account": "demo", "name": "testazienda-pec.it" }),
        ),
    ];
    for message in &valid {
        assert!(validator.is_valid(message), "the schema refuses {message}");
        let parsed = InventoryMessage::parse(&message.to_string())
            .unwrap_or_else(|e| panic!("the types refuse {message}: {e}"));
        let written = serde_json::to_value(&parsed).unwrap();
        assert!(
            validator.is_valid(&written),
            "the schema refuses what the types write: {written}"
        );
    }
    let mut invalid = vec![
        with(valid[1].clone(), json!({ "type": "mailbox.renamed" })),
        with(valid[1].clone(), json!({ "extra": 1 })),
        with(valid[1].clone(), json!({ "schema": 2 })),
        with(valid[1].clone(), json!({ "version": 0 })),
        with(valid[2].clone(), json!({ "mailbox": mailbox })),
        with(valid[4].clone(), json!({ "name": "-testazienda.it" })),
    ];
    for (field, bad) in [
        ("holder_id", json!("abc")),
        ("status", json!("Attiva")),
        ("end_of_service", json!("2027-13-01")),
        ("inbox_gb", json!(-1)),
        ("extra", json!(1)),
    ] {
        let mut m = valid[1].clone();
        m["mailbox"][field] = bad;
        invalid.push(m);
    }
    let mut missing = valid[1].clone();
    missing["mailbox"]
        .as_object_mut()
        .unwrap()
        .remove("renewal");
    invalid.push(missing);
    for message in &invalid {
        assert!(!validator.is_valid(message), "the schema accepts {message}");
        assert!(
            InventoryMessage::parse(&message.to_string()).is_err(),
            "the types accept {message}"
        );
    }
}

/// The mail platform's commands and acknowledgements as the Rust types write and read them
/// agree with their JSON Schemas under `infra/events/`.
#[test]
fn platform_commands_and_acks_and_their_schemas_agree() {
    use titolare_domain::platform::{self, Ack};
    let load = |name: &str| titolare_e2e::schema_validator(&format!("infra/events/{name}"));
    let commands = load("platform-command-v1.schema.json");
    let acks = load("platform-ack-v1.schema.json");
    let account = titolare_domain::AccountId::parse("demo").unwrap();
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let mut transfer = titolare_store::conformance::sample_transfer(42, &account, 1_800_100_000);
    transfer
        .items
        .push(titolare_domain::transfer::TransferItem {
            item: titolare_domain::transfer::ItemRef::parse(
                titolare_domain::transfer::ItemKind::Domain,
                "esempio-pec.it",
            )
            .unwrap(),
            current_holder: Some(true),
            new_holder: Some(true),
            outcome: None,
        });
    for item in &mut transfer.items {
        item.outcome = Some(titolare_domain::transfer::ItemOutcome::Moved);
    }
    let mut all: Vec<_> = titolare_domain::commands::of_completion(&transfer, now)
        .into_iter()
        .map(|r| r.command)
        .collect();
    let mailbox = transfer.items[0].item.id.clone();
    all.push(platform::password_set(
        &transfer.id,
        0,
        1,
        &account,
        &mailbox,
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        now,
    ));
    let kinds: std::collections::BTreeSet<&str> = all.iter().map(|c| c.action.name()).collect();
    assert_eq!(kinds.len(), 5, "every kind of command: {kinds:?}");
    for command in &all {
        let written = serde_json::to_value(command).unwrap();
        assert!(commands.is_valid(&written), "the schema refuses {written}");
        let read: platform::Command = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(&read, command);
    }
    let first = serde_json::to_value(&all[0]).unwrap();
    let with = |field: &str, value: Value| {
        let mut v = first.clone();
        v[field] = value;
        v
    };
    for bad in [
        with("type", json!("mailbox.deleted")),
        with("previous_holder", json!("abc")),
        with("id", json!("teste1234@pec.it")),
        with("extra", json!(1)),
    ] {
        assert!(!commands.is_valid(&bad), "the schema accepts {bad}");
    }
    for result in ["applied", "not_applicable", "refused"] {
        let ack = json!({ "schema": 1, "command": all[0].id.as_str(), "result": result, "reason": "nessuna delega", "at": "2027-01-15T08:00:00Z" });
        assert!(acks.is_valid(&ack), "{ack}");
        let parsed = Ack::parse(&ack.to_string()).unwrap();
        assert!(acks.is_valid(&serde_json::to_value(&parsed).unwrap()));
    }
    for bad in [
        json!({ "schema": 2, "command": all[0].id.as_str(), "result": "applied", "at": "2027-01-15T08:00:00Z" }),
        json!({ "schema": 1, "command": "teste1234@pec.it", "result": "applied", "at": "2027-01-15T08:00:00Z" }),
        json!({ "schema": 1, "command": all[0].id.as_str(), "result": "done", "at": "2027-01-15T08:00:00Z" }),
        json!({ "schema": 1, "command": all[0].id.as_str(), "result": "applied", "at": "2027-01-15T08:00:00Z", "extra": 1 }),
        json!({ "schema": 1, "command": all[0].id.as_str(), "result": "refused", "reason": "x".repeat(501), "at": "2027-01-15T08:00:00Z" }),
    ] {
        assert!(!acks.is_valid(&bad), "the schema accepts {bad}");
        assert!(
            Ack::parse(&bad.to_string()).is_err(),
            "the types accept {bad}"
        );
    }
}

/// The domain event of an ended request, as the Rust type writes it, agrees with its JSON
/// Schema under `infra/events/`, for every ending.
#[test]
fn domain_events_and_their_schema_agree() {
    use titolare_domain::events::TransferEnded;
    use titolare_domain::transfer::{ItemOutcome, TransferStatus};
    let validator = titolare_e2e::schema_validator("infra/events/transfer-ended-v1.schema.json");
    let account = titolare_domain::AccountId::parse("demo").unwrap();
    let mut t = titolare_store::conformance::sample_transfer(42, &account, 1_800_100_000);
    assert!(
        TransferEnded::of(&t).is_none(),
        "a running request has no event"
    );
    t.ended_at = Some(jiff::Timestamp::from_second(1_800_000_000).unwrap());
    for (status, outcome, kind) in [
        (
            TransferStatus::Completed,
            ItemOutcome::Moved,
            "Transfer Completed",
        ),
        (
            TransferStatus::Rejected,
            ItemOutcome::Kept,
            "Transfer Rejected",
        ),
        (
            TransferStatus::Expired,
            ItemOutcome::Kept,
            "Transfer Expired",
        ),
        (
            TransferStatus::Cancelled,
            ItemOutcome::Withdrawn,
            "Transfer Cancelled",
        ),
    ] {
        t.status = status;
        for item in &mut t.items {
            item.outcome = Some(outcome);
        }
        let event = TransferEnded::of(&t).unwrap();
        assert_eq!(event.detail_type(), kind);
        let written = serde_json::to_value(&event).unwrap();
        assert!(validator.is_valid(&written), "the schema refuses {written}");
        let read: TransferEnded = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(read, event);
        let mut bad = written.clone();
        bad["status"] = json!("open");
        assert!(!validator.is_valid(&bad));
        let mut extra = written;
        extra["extra"] = json!(1);
        assert!(!validator.is_valid(&extra));
    }
}
