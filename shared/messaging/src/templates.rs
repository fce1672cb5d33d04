//! Every text a person receives, in Italian and English, plain and HTML for email.
//! Dates are shown in Europe/Rome time.

use jiff::Timestamp;
use titolare_domain::AccountId;
use titolare_domain::Lingua;
use titolare_domain::otp::Channel;
use titolare_domain::otp::Party;
use titolare_domain::outbox::{Message, OutboxMessage};
use titolare_domain::secret::OneTimeCode;
use titolare_domain::transfer::PasswordResetToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    /// Empty for an SMS.
    pub html: String,
}

/// Who sends the messages, as the deployment names itself (docs/deploying.md): the
/// provider's legal name, how its support is reached, and the panel's address, which an
/// email gives so a wary reader can get there without its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub legal_name: String,
    pub support: String,
    pub panel_url: String,
}

impl Sender {
    /// The example a local run and the tests use.
    pub fn example() -> Self {
        Self {
            legal_name: "PEC Esempio S.p.A.".into(),
            support: "assistenza@pec.example.it, 800 000 000".into(),
            panel_url: "https://pec.example.it/".into(),
        }
    }
}

/// What frames every email: who it greets, who signs it.
struct Letter<'a> {
    lingua: Lingua,
    name: Option<&'a str>,
    sender: &'a Sender,
}

/// "23/11/2026 alle 09:00" / "23/11/2026 at 09:00", in Rome's time.
fn rome(at: Timestamp, lingua: Lingua) -> String {
    let zoned = titolare_domain::moments::in_rome(at);
    let word = if lingua == Lingua::En { "at" } else { "alle" };
    format!(
        "{} {word} {}",
        zoned.strftime("%d/%m/%Y"),
        zoned.strftime("%H:%M")
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("- {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The services a message lists, in the reader's language: the transfer names them in
/// Italian ("casella …", "dominio …", as `ItemRef::label` writes them).
fn services(labels: &[String], lingua: Lingua) -> Vec<String> {
    labels
        .iter()
        .map(|label| match lingua {
            Lingua::It => label.clone(),
            Lingua::En => label
                .strip_prefix("casella ")
                .map(|id| format!("mailbox {id}"))
                .or_else(|| {
                    label
                        .strip_prefix("dominio ")
                        .map(|id| format!("domain {id}"))
                })
                .unwrap_or_else(|| label.clone()),
        })
        .collect()
}

/// An email from paragraphs: plain text as given, HTML with each paragraph escaped.
/// A paragraph starting with "- " lines is a list; `link` becomes a button. Every email
/// greets its reader by name and ends with how to tell it is genuine (the signs the
/// provider's anti-phishing advice names: no password ever asked, the panel reached by
/// hand, the support contact) and the provider's legal name.
fn email(
    subject: String,
    paragraphs: Vec<String>,
    link: Option<(&str, &str)>,
    letter: &Letter,
) -> Rendered {
    let en = letter.lingua == Lingua::En;
    let sender = letter.sender;
    let greeting = match (letter.name, en) {
        (Some(name), false) => format!("Gentile {name},"),
        (None, false) => "Gentile cliente,".to_owned(),
        (Some(name), true) => format!("Dear {name},"),
        (None, true) => "Dear customer,".to_owned(),
    };
    let genuine = if en {
        format!(
            "How to tell this email is genuine: {} will never ask you for a password or for the codes you receive, by email or on the phone. If in doubt, do not use the link: open the panel yourself at {} or contact support: {}.",
            sender.legal_name, sender.panel_url, sender.support
        )
    } else {
        format!(
            "Come riconoscere un'email autentica: {} non ti chiederà mai una password né i codici che ricevi, per email o al telefono. Se hai dubbi, non usare il link: apri tu il pannello da {} oppure contatta l'assistenza: {}.",
            sender.legal_name, sender.panel_url, sender.support
        )
    };
    let signature = if en {
        format!("{}, PEC customer service", sender.legal_name)
    } else {
        format!("{}, servizio clienti PEC", sender.legal_name)
    };
    let mut text = greeting.clone();
    let mut html = format!(
        "<!doctype html><html lang=\"{}\"><body style=\"font-family:sans-serif\"><p>{}</p>",
        if en { "en" } else { "it" },
        escape(&greeting)
    );
    for p in &paragraphs {
        text.push_str(&format!("\n\n{p}"));
        if p.starts_with("- ") {
            let items: String = p
                .lines()
                .map(|l| format!("<li>{}</li>", escape(l.trim_start_matches("- "))))
                .collect();
            html.push_str(&format!("<ul>{items}</ul>"));
        } else {
            html.push_str(&format!("<p>{}</p>", escape(p)));
        }
    }
    if let Some((label, url)) = link {
        text.push_str(&format!("\n\n{label}: {url}"));
        html.push_str(&format!("<p><a href=\"{}\" style=\"padding:8px 16px;background:#0a6;color:#fff;text-decoration:none\">{}</a></p>", escape(url), escape(label)));
    }
    text.push_str(&format!("\n\n{genuine}\n\n{signature}"));
    html.push_str(&format!(
        "<p style=\"font-size:90%\">{}</p><p>{}</p></body></html>",
        escape(&genuine),
        escape(&signature)
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

/// What a person can do once a request ended with nothing changed: the requester starts
/// again, a holder asks the requester to (no dead end).
fn start_again(party: Option<Party>, lingua: Lingua) -> &'static str {
    match (party, lingua) {
        (Some(Party::Initiator), Lingua::It) => {
            "Se il cambio serve ancora, puoi avviare una nuova richiesta dall'area clienti, in «Cambio titolare PEC»."
        }
        (Some(_), Lingua::It) => {
            "Se il cambio serve ancora, chiedi a chi gestisce i servizi di avviare una nuova richiesta: riceverai un nuovo invito."
        }
        (None, Lingua::It) => {
            "Se il cambio serve ancora, chi gestisce i servizi può avviare una nuova richiesta."
        }
        (Some(Party::Initiator), Lingua::En) => {
            "If the change is still needed, you can start a new request from the customer area, under “Change of holder”."
        }
        (Some(_), Lingua::En) => {
            "If the change is still needed, ask whoever manages the services to start a new request: you will receive a new invitation."
        }
        (None, Lingua::En) => {
            "If the change is still needed, whoever manages the services can start a new request."
        }
    }
}

/// A party's role with its article, as a sentence names it ("sei l'attuale titolare").
fn role(party: Party, lingua: Lingua) -> &'static str {
    match (party, lingua) {
        (Party::CurrentHolder, Lingua::It) => "l'attuale titolare",
        (Party::NewHolder, Lingua::It) => "il nuovo titolare",
        (Party::Initiator, Lingua::It) => "il richiedente",
        (Party::CurrentHolder, Lingua::En) => "the current holder",
        (Party::NewHolder, Lingua::En) => "the new holder",
        (Party::Initiator, Lingua::En) => "the requester",
    }
}

/// Who did something, with "da" joined to the article: "dall'attuale titolare".
fn by_role(party: Party) -> &'static str {
    match party {
        Party::CurrentHolder => "dall'attuale titolare",
        Party::NewHolder => "dal nuovo titolare",
        Party::Initiator => "dal richiedente",
    }
}

/// What only the dispatcher can give a text: derived under the secret key as it sends,
/// never stored (a code, a link's token).
pub trait Secrets {
    /// The one-time code of a code message.
    fn code(&self, message: &OutboxMessage, party: Party, send_no: u32) -> OneTimeCode;
    /// The "Gestisci richiesta" link of an invitation, of the party's link generation.
    fn invitation_link(&self, message: &OutboxMessage, party: Party, generation: u32) -> String;
    /// The "Blocca la richiesta" link of a changed number's notice.
    fn stop_link(&self, message: &OutboxMessage, party: Party) -> String;
    /// Each mailbox with its password link.
    fn reset_links(
        &self,
        message: &OutboxMessage,
        account: &AccountId,
        mailboxes: &[String],
        issued_at: Timestamp,
    ) -> Vec<(String, String)>;
}

/// A message renders itself, in its own language, with what the dispatcher's `secrets`
/// derive; nothing is copied into another shape first.
pub trait Render {
    fn render(&self, secrets: &dyn Secrets, sender: &Sender) -> Rendered;
}

impl Render for OutboxMessage {
    fn render(&self, secrets: &dyn Secrets, sender: &Sender) -> Rendered {
        let lingua = self.lingua;
        let recipient = self.recipient.as_ref();
        let to_party = recipient.map(|r| r.party);
        let letter = &Letter {
            lingua,
            name: recipient.and_then(|r| r.name.as_deref()),
            sender,
        };
        let en = lingua == Lingua::En;
        let transfer = self.transfer.as_str();
        let sms = self.channel == Channel::Sms;
        match &self.message {
            Message::Code { party, send_no } => {
                let code = &secrets.code(self, *party, *send_no);
                if sms {
                    Rendered {
                        subject: String::new(),
                        text: if en {
                            format!(
                                "{} is your verification code for the PEC change of holder. It is valid for 10 minutes. Do not share it.",
                                code.reveal()
                            )
                        } else {
                            format!(
                                "{} è il codice di verifica per il cambio titolare PEC. Vale 10 minuti. Non comunicarlo a nessuno.",
                                code.reveal()
                            )
                        },
                        html: String::new(),
                    }
                } else {
                    let (subject, body) = if en {
                        (format!("PEC change of holder no. {transfer}: verification code"), vec![format!("Your verification code is {} (change of holder no. {transfer}).", code.reveal()), "It is valid for 10 minutes. If you did not ask for it, ignore this message.".to_owned()])
                    } else {
                        (
                            format!("Cambio titolare PEC n. {transfer}: codice di verifica"),
                            vec![
                                format!(
                                    "Il tuo codice di verifica per la richiesta n. {transfer} è {}.",
                                    code.reveal()
                                ),
                                "Vale 10 minuti. Se non lo hai richiesto, ignora questo messaggio."
                                    .to_owned(),
                            ],
                        )
                    };
                    email(subject, body, None, letter)
                }
            }
            Message::Invitation {
                party,
                items,
                deadline,
                from,
                other,
                steps,
                username,
                link: generation,
                reminder,
            } => {
                let link = &secrets.invitation_link(self, *party, *generation);
                let (from, other, username) =
                    (from.as_deref(), other.as_deref(), username.as_deref());
                {
                    let when = rome(*deadline, lingua);
                    let steps: Vec<String> = steps
                        .iter()
                        .map(|s| s.instruction(lingua, username))
                        .collect();
                    let (subject, body, label) = if en {
                        // Names are what an account typed: quoted, so a reader sees where they end
                        // (docs/security.md, "Text in the provider's emails").
                        let who = from
                            .map_or("The account managing these services".to_owned(), |f| {
                                format!("“{f}”")
                            });
                        let other = other.map(|o| format!("“{o}”"));
                        let opening = match (party, &other) {
                            (Party::NewHolder, None) => format!(
                                "{who} proposes that you become the new holder of the following services:"
                            ),
                            (Party::NewHolder, Some(other)) => format!(
                                "{who} proposes that you become the new holder of the following services, now held by {other}:"
                            ),
                            (_, Some(other)) => format!(
                                "{who} has requested the change of holder of the following services, of which you are {}; the proposed new holder is {other}:",
                                role(*party, lingua)
                            ),
                            _ => format!(
                                "{who} has requested the change of holder of the following services, of which you are {}:",
                                role(*party, lingua)
                            ),
                        };
                        let mut body = vec![
                            opening,
                            list(&services(items, lingua)),
                            match party {
                                Party::NewHolder => "You receive this email because this address is the contact of the holder profile proposed as the new holder.".to_owned(),
                                _ => "You receive this email because this address is the contact of the services' current holder.".to_owned(),
                            },
                            "To answer, open \"Manage the request\" and take these steps:"
                                .to_owned(),
                            list(&steps),
                            format!(
                                "Complete them by {when} (Rome time). If you do nothing, the request lapses then and nothing changes: without your confirmation the services stay as they are."
                            ),
                        ];
                        body.push(match party {
                    Party::NewHolder => "If the change is completed: you will set a new password for each mailbox through a link sent by email, the access history is wiped, and rules and filters stay as they are: check them.".to_owned(),
                    _ => "Before you accept: once the change is completed you lose access to the mailboxes, so save the messages and receipts you need first. Deleting the content of the mailboxes is your responsibility; the provider does not answer for messages left in them.".to_owned(),
                });
                        if let (Party::CurrentHolder, Some(username)) = (party, username) {
                            body.push(format!("With the change, the management of the services (renewals, invoices, changes) also moves to the account with username {username}."));
                        }
                        if *reminder {
                            body.insert(0, format!("A reminder: the request expires on {when} (Rome time) and your steps are not done yet."));
                        }
                        (
                            if *reminder {
                                format!("Reminder: change of holder of PEC services (request {transfer})")
                            } else {
                                format!("Change of holder of PEC services (request {transfer})")
                            },
                            body,
                            "Manage the request",
                        )
                    } else {
                        let who = from.map_or("Chi gestisce questi servizi".to_owned(), |f| {
                            format!("«{f}»")
                        });
                        let other = other.map(|o| format!("«{o}»"));
                        let opening = match (party, &other) {
                            (Party::NewHolder, Some(other)) => format!(
                                "{who} propone che tu diventi il nuovo titolare dei seguenti servizi, oggi intestati a {other}:"
                            ),
                            (Party::NewHolder, None) => format!(
                                "{who} propone che tu diventi il nuovo titolare dei seguenti servizi:"
                            ),
                            (_, Some(other)) => format!(
                                "{who} ha richiesto il cambio titolare dei seguenti servizi, di cui sei {}; il nuovo titolare proposto è {other}:",
                                role(*party, lingua)
                            ),
                            _ => format!(
                                "{who} ha richiesto il cambio titolare dei seguenti servizi, di cui sei {}:",
                                role(*party, lingua)
                            ),
                        };
                        let mut body = vec![
                            opening,
                            list(&services(items, lingua)),
                            match party {
                                Party::NewHolder => "Ricevi questa email perché questo indirizzo è il contatto del profilo proposto come nuovo titolare.".to_owned(),
                                _ => "Ricevi questa email perché questo indirizzo è il contatto dell'attuale titolare dei servizi.".to_owned(),
                            },
                            "Per rispondere apri «Gestisci richiesta» e completa questi passaggi:"
                                .to_owned(),
                            list(&steps),
                            format!(
                                "Concludi la procedura entro il {when} (ora italiana). Se non fai nulla, a quella data la richiesta scade e non cambia nulla: senza la tua conferma i servizi restano come sono."
                            ),
                        ];
                        body.push(match party {
                    Party::NewHolder => "Se il cambio si conclude: imposterai una nuova password per ogni casella tramite il link che riceverai via email, lo storico degli accessi viene azzerato, e regole e filtri restano come sono: verificali.".to_owned(),
                    _ => "Prima di accettare: a cambio concluso perdi l'accesso alle caselle, quindi salva prima i messaggi e le ricevute che ti servono. La cancellazione del contenuto delle caselle PEC è a tuo carico; il gestore non risponde dei messaggi lasciati nelle caselle.".to_owned(),
                });
                        if let (Party::CurrentHolder, Some(username)) = (party, username) {
                            body.push(format!("Con il cambio, anche la gestione dei servizi (rinnovi, fatture e modifiche) passa all'account con username {username}."));
                        }
                        if *reminder {
                            body.insert(0, format!("Ti ricordiamo che la richiesta scade il {when} (ora italiana) e i tuoi passaggi non sono ancora completi."));
                        }
                        (
                            if *reminder {
                                format!("Promemoria: cambio titolare di servizi PEC (richiesta {transfer})")
                            } else {
                                format!("Cambio titolare di servizi PEC (richiesta {transfer})")
                            },
                            body,
                            "Gestisci richiesta",
                        )
                    };
                    email(subject, body, Some((label, link)), letter)
                }
            }
            Message::Confirmation {
                party,
                moved,
                kept,
                handed_over_to,
            } => {
                let handed_over_to = handed_over_to.as_deref();
                {
                    let mut body = if en {
                        vec![
                            format!(
                                "The change of holder (request {transfer}) is complete. These services changed holder:"
                            ),
                            list(&services(moved, lingua)),
                        ]
                    } else {
                        vec![
                            format!(
                                "Il cambio titolare (richiesta {transfer}) è concluso. Hanno cambiato titolare i servizi:"
                            ),
                            list(&services(moved, lingua)),
                        ]
                    };
                    if !kept.is_empty() {
                        body.push(if en {
                            "These stay as they were:".into()
                        } else {
                            "Restano invariati:".into()
                        });
                        body.push(list(&services(kept, lingua)));
                    }
                    match party {
                Party::CurrentHolder => body.push(if en {
                    "Deleting the content of the mailboxes was your responsibility: messages not deleted may be seen by the new holder.".into()
                } else {
                    "La cancellazione del contenuto delle caselle era a tuo carico: i messaggi non eliminati potranno essere visti dal nuovo titolare.".into()
                }),
                Party::NewHolder => body.push(if en {
                    "You will receive a link to set a new password for each mailbox. Rules and filters are kept: check them.".into()
                } else {
                    "Riceverai un link per impostare una nuova password per ogni casella. Regole e filtri sono mantenuti: verificali.".into()
                }),
                Party::Initiator => {
                    if let Some(username) = handed_over_to {
                        body.push(if en {
                            format!("The services that changed holder are now managed by the account {username}: they have left your account (renewals, invoices and changes go with them).")
                        } else {
                            format!("I servizi che hanno cambiato titolare sono ora gestiti dall'account {username}: non sono più nel tuo account (rinnovi, fatture e modifiche passano con loro).")
                        });
                    }
                }
            }
                    email(
                        if en {
                            format!("Change of holder complete (request {transfer})")
                        } else {
                            format!("Cambio titolare concluso (richiesta {transfer})")
                        },
                        body,
                        None,
                        letter,
                    )
                }
            }
            Message::Rejection { items, by } => email(
                if en {
                    format!("Change of holder rejected (request {transfer})")
                } else {
                    format!("Cambio titolare rifiutato (richiesta {transfer})")
                },
                vec![
                    match (en, by) {
                        (true, Some(party)) => format!(
                            "The change of holder (request {transfer}) was rejected by {}; these services stay as they were:",
                            role(*party, lingua)
                        ),
                        (true, None) => format!(
                            "The change of holder (request {transfer}) was rejected; these services stay as they were:"
                        ),
                        (false, Some(party)) => format!(
                            "Il cambio titolare (richiesta {transfer}) è stato rifiutato {}; questi servizi restano invariati:",
                            by_role(*party)
                        ),
                        (false, None) => format!(
                            "Il cambio titolare (richiesta {transfer}) è stato rifiutato; questi servizi restano invariati:"
                        ),
                    },
                    list(&services(items, lingua)),
                    start_again(to_party, lingua).to_owned(),
                ],
                None,
                letter,
            ),
            Message::Withdrawn { items, ended } => email(
                if en {
                    format!("Services taken out of the change of holder (request {transfer})")
                } else {
                    format!("Servizi esclusi dal cambio titolare (richiesta {transfer})")
                },
                vec![
                    if en {
                        format!(
                            "The provider's records changed for these services while the change of holder (request {transfer}) was under way: they were removed, are no longer active or now have another holder. They are no longer part of the request and stay as the provider's records say:"
                        )
                    } else {
                        format!(
                            "I dati del gestore per questi servizi sono cambiati mentre il cambio titolare (richiesta {transfer}) era in corso: sono stati rimossi, non sono più attivi o hanno ora un altro titolare. Non fanno più parte della richiesta e restano come risulta al gestore:"
                        )
                    },
                    list(&services(items, lingua)),
                    match (en, ended) {
                        (true, true) => "No service is left in the request: it has ended and nothing changed holder. The requester may start a new one if it is still needed.".into(),
                        (true, false) => "The request goes on for its other services, with the same deadline.".into(),
                        (false, true) => "Nella richiesta non resta alcun servizio: si è chiusa e nessun servizio ha cambiato titolare. Se serve ancora, il richiedente può avviarne una nuova.".into(),
                        (false, false) => "La richiesta prosegue per gli altri servizi, con la stessa scadenza.".into(),
                    },
                ],
                None,
                letter,
            ),
            Message::Undelivered { party, failure } => email(
                if en {
                    format!("Invitation not delivered (request {transfer})")
                } else {
                    format!("Invito non consegnato (richiesta {transfer})")
                },
                vec![
                    if en {
                        format!(
                            "The invitation of the change of holder (request {transfer}) to {} was not delivered: {}.",
                            role(*party, lingua),
                            failure.words_en()
                        )
                    } else {
                        format!(
                            "L'invito del cambio titolare (richiesta {transfer}) per {} non è stato consegnato: {}.",
                            role(*party, lingua),
                            failure.words()
                        )
                    },
                    if en {
                        "No more reminders go to that address. Open the request in the customer area and correct the contacts (\"Correggi i contatti\"): a new invitation goes to the new address, with the same deadline.".into()
                    } else {
                        "A quell'indirizzo non partono altri promemoria. Apri la richiesta nell'area clienti e correggi i contatti («Correggi i contatti»): un nuovo invito partirà al nuovo indirizzo, con la stessa scadenza.".into()
                    },
                ],
                None,
                letter,
            ),
            Message::Cancellation { items, by_support } => email(
                if en {
                    format!("Change of holder cancelled (request {transfer})")
                } else {
                    format!("Cambio titolare annullato (richiesta {transfer})")
                },
                vec![
                    match (en, by_support) {
                        (true, false) => format!(
                            "The requester cancelled the change of holder (request {transfer}); these services stay as they were:"
                        ),
                        (true, true) => format!(
                            "The provider's support cancelled the change of holder (request {transfer}); these services stay as they were:"
                        ),
                        (false, false) => format!(
                            "Il richiedente ha interrotto il cambio titolare (richiesta {transfer}); questi servizi restano invariati:"
                        ),
                        (false, true) => format!(
                            "L'assistenza del gestore ha interrotto il cambio titolare (richiesta {transfer}); questi servizi restano invariati:"
                        ),
                    },
                    list(&services(items, lingua)),
                    start_again(to_party, lingua).to_owned(),
                ],
                None,
                letter,
            ),
            Message::Expiry {
                items,
                deadline,
                draft,
            } => {
                let when = rome(*deadline, lingua);
                email(
                    if en {
                        format!("Change of holder expired (request {transfer})")
                    } else {
                        format!("Cambio titolare scaduto (richiesta {transfer})")
                    },
                    vec![
                        if *draft {
                            if en {
                                format!(
                                    "The request {transfer} was not confirmed with the code sent to your mobile by {when} (Rome time, 24 hours after it was created) and has been cancelled; no holder was contacted. These services stay as they were:"
                                )
                            } else {
                                format!(
                                    "La richiesta {transfer} non è stata confermata con il codice inviato al tuo cellulare entro il {when} (ora italiana, 24 ore dalla creazione) ed è stata annullata; nessun titolare è stato contattato. Questi servizi restano invariati:"
                                )
                            }
                        } else if en {
                            format!(
                                "The procedure (request {transfer}) was not completed by {when} (Rome time) and the request has been cancelled. These services stay as they were:"
                            )
                        } else {
                            format!(
                                "La procedura (richiesta {transfer}) non è stata conclusa entro il {when} (ora italiana) e la pratica è stata annullata. Questi servizi restano invariati:"
                            )
                        },
                        list(&services(items, lingua)),
                        start_again(to_party, lingua).to_owned(),
                    ],
                    None,
                    letter,
                )
            }
            Message::NumberChanged {
                party,
                number,
                until,
            } => {
                let link = &secrets.stop_link(self, *party);
                if sms {
                    Rendered {
                        subject: String::new(),
                        text: if en {
                            format!(
                                "PEC change of holder no. {transfer}, where you are {}: the mobile was verified with another number ({number}). Not you? Stop the request: {link}",
                                role(*party, lingua)
                            )
                        } else {
                            format!(
                                "Cambio titolare PEC n. {transfer}, dove sei {}: il cellulare è stato verificato con un altro numero ({number}). Non sei stato tu? Blocca la richiesta: {link}",
                                role(*party, lingua)
                            )
                        },
                        html: String::new(),
                    }
                } else {
                    let when = rome(*until, lingua);
                    if en {
                        email(
                            format!(
                                "PEC change of holder no. {transfer}: another mobile was verified"
                            ),
                            vec![
                                format!(
                                    "In the change of holder request no. {transfer}, where you are {}, the mobile step was verified with the number {number}, not the one we have for you.",
                                    role(*party, lingua)
                                ),
                                format!(
                                    "If that was you, there is nothing to do: the request completes no earlier than {when} (Rome time)."
                                ),
                                "Not you? Stop the request: no service will change holder."
                                    .to_owned(),
                            ],
                            Some(("Stop the request", link)),
                            letter,
                        )
                    } else {
                        email(
                    format!("Cambio titolare PEC n. {transfer}: verificato un altro cellulare"),
                    vec![
                        format!(
                            "Nella richiesta di cambio titolare n. {transfer}, dove sei {}, la verifica del cellulare è stata fatta con il numero {number}, diverso da quello che risulta a noi.",
                            role(*party, lingua)
                        ),
                        format!(
                            "Se sei stato tu, non devi fare nulla: la richiesta si concluderà non prima del {when} (ora italiana)."
                        ),
                        "Non sei stato tu? Blocca la richiesta: nessun servizio cambierà titolare."
                            .to_owned(),
                    ],
                    Some(("Blocca la richiesta", link)),
                    letter,
                )
                    }
                }
            }
            Message::PasswordReset {
                account,
                mailboxes,
                issued_at,
                reissued,
            } => {
                let links = &secrets.reset_links(self, account, mailboxes, *issued_at);
                let valid_until = &(*issued_at + PasswordResetToken::VALIDITY);
                {
                    let when = rome(*valid_until, lingua);
                    let after = if en {
                        "The access history of the mailbox has been wiped. Its saved rules and filters stay: check that none hides messages or moves them out of the inbox."
                    } else {
                        "Lo storico degli accessi è stato azzerato. Regole e filtri salvati restano: verifica che nessuno nasconda i messaggi o li sposti fuori dalla posta in arrivo."
                    };
                    match (&links[..], en) {
                ([(mailbox, link)], false) if *reissued => email(
                    format!("Nuovo link per la password della casella {mailbox}"),
                    vec![
                        format!("È stato chiesto un nuovo link per impostare la password della casella PEC {mailbox}: eccolo. Sostituisce i link inviati prima, che non valgono più. Imposta la password entro il {when} (ora italiana): il link vale una sola volta."),
                        "I link arrivano solo a questo indirizzo, quello che hai verificato nel cambio di titolare. Se non l'hai chiesto tu, nessun altro ha ricevuto il link: puoi usarlo tu o ignorarlo.".to_owned(),
                    ],
                    Some(("Imposta la password", link)),
                    letter,
                ),
                ([(mailbox, link)], true) if *reissued => email(
                    format!("New link for the password of the mailbox {mailbox}"),
                    vec![
                        format!("Someone asked for a new link to set the password of the PEC mailbox {mailbox}: here it is. It replaces the links sent before, which no longer work. Set the password by {when} (Rome time): the link works once."),
                        "Links only ever come to this address, the one you verified in the change of holder. If you did not ask, nobody else received the link: use it or ignore it.".to_owned(),
                    ],
                    Some(("Set the password", link)),
                    letter,
                ),
                ([(mailbox, link)], false) => email(
                    format!("Imposta la password della casella {mailbox}"),
                    vec![
                        format!("Sei il nuovo titolare della casella PEC {mailbox}. Per usarla imposta una nuova password entro il {when} (ora italiana): il link vale una sola volta."),
                        "Se il link è scaduto, aprilo comunque: dalla pagina puoi chiederne uno nuovo, che arriverà a questo indirizzo email.".to_owned(),
                        after.to_owned(),
                    ],
                    Some(("Imposta la password", link)),
                    letter,
                ),
                ([(mailbox, link)], true) => email(
                    format!("Set the password of the mailbox {mailbox}"),
                    vec![
                        format!("You are the new holder of the PEC mailbox {mailbox}. To use it, set a new password by {when} (Rome time): the link works once."),
                        "If the link has expired, open it anyway: the page lets you ask for a new one, sent to this email address.".to_owned(),
                        after.to_owned(),
                    ],
                    Some(("Set the password", link)),
                    letter,
                ),
                (_, false) => {
                    let lines = links
                        .iter()
                        .map(|(m, l)| format!("- {m}, entro il {when} (ora italiana): {l}"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    email(
                        format!("Imposta la password delle tue {} caselle PEC", links.len()),
                        vec![
                            format!("Sei il nuovo titolare di {} caselle PEC. Per ciascuna imposta una nuova password con il suo link, che vale una sola volta:", links.len()),
                            lines,
                            "Se un link è scaduto, aprilo comunque: dalla pagina puoi chiederne uno nuovo, che arriverà a questo indirizzo email.".to_owned(),
                            after.to_owned(),
                        ],
                        None,
                        letter,
                    )
                }
                (_, true) => {
                    let lines = links
                        .iter()
                        .map(|(m, l)| format!("- {m}, by {when} (Rome time): {l}"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    email(
                        format!("Set the password of your {} PEC mailboxes", links.len()),
                        vec![
                            format!("You are the new holder of {} PEC mailboxes. Set a new password for each with its own link, which works once:", links.len()),
                            lines,
                            "If a link has expired, open it anyway: the page lets you ask for a new one, sent to this email address.".to_owned(),
                            after.to_owned(),
                        ],
                        None,
                        letter,
                    )
                }
            }
                }
            }
        }
    }
}

/// Fixed codes and links and a message builder, for the texts' tests and their catalogue
/// (`tests/texts.rs`): a message rendered as the dispatcher would, without a key.
#[doc(hidden)]
pub mod samples {
    use super::*;

    /// Code 042917; links named after what they open (a password link after its mailbox's
    /// first letter).
    pub struct Fixed;

    impl Secrets for Fixed {
        fn code(&self, _: &OutboxMessage, _: Party, _: u32) -> OneTimeCode {
            OneTimeCode::parse("042917").unwrap_or_else(|| unreachable!("six digits"))
        }
        fn invitation_link(&self, _: &OutboxMessage, _: Party, _: u32) -> String {
            "https://pec.example.it/gestisci#token=42.nh.abc".into()
        }
        fn stop_link(&self, _: &OutboxMessage, _: Party) -> String {
            "https://pec.example.it/blocca#token=x".into()
        }
        fn reset_links(
            &self,
            _: &OutboxMessage,
            _: &AccountId,
            mailboxes: &[String],
            _: Timestamp,
        ) -> Vec<(String, String)> {
            mailboxes
                .iter()
                .map(|m| {
                    let first = m.chars().next().unwrap_or('x');
                    let link = format!("https://pec.example.it/password#token={first}");
                    (m.clone(), link)
                })
                .collect()
        }
    }

    /// A message of transfer 42 on `channel`.
    pub fn sample(channel: Channel, message: Message) -> OutboxMessage {
        let at: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap_or_default();
        OutboxMessage {
            id: "42-sample".into(),
            transfer: titolare_domain::transfer::TransferId::from_number(42),
            account: AccountId::parse("acc").unwrap_or_else(|_| unreachable!("a username")),
            channel,
            to: Some("destinatario@example.it".into()),
            lingua: Lingua::It,
            recipient: Some(titolare_domain::outbox::Recipient {
                party: Party::CurrentHolder,
                name: Some("Mario Rossi".into()),
            }),
            message,
            status: titolare_domain::outbox::DeliveryStatus::Pending,
            claimed_until: None,
            created_at: at,
            attempts: 0,
            provider_id: None,
            report: None,
            error: None,
            expires_at: at,
        }
    }

    /// `message` in `lingua`, with the fixed codes and links.
    pub fn render(message: &OutboxMessage, lingua: Lingua) -> Rendered {
        OutboxMessage {
            lingua,
            ..message.clone()
        }
        .render(&Fixed, &Sender::example())
    }
}

#[cfg(test)]
mod tests {
    use super::samples::{render, sample};
    use super::*;
    use titolare_domain::transfer::Step;

    /// Each template in each language names what it must and leaves nothing unfilled.
    #[test]
    fn every_template_names_what_it_must() {
        let deadline: Timestamp = "2026-11-28T08:00:00Z".parse().unwrap();
        let items = vec!["teste1234@pec.it".to_owned(), "esempio-pec.it".to_owned()];
        let kept = vec!["altra@pec.it".to_owned()];
        let link = "https://pec.example.it/gestisci#token=42.nh.abc";
        let templates: Vec<(OutboxMessage, Vec<&str>)> = vec![
            (
                sample(
                    Channel::Sms,
                    Message::Code {
                        party: Party::CurrentHolder,
                        send_no: 1,
                    },
                ),
                vec!["042917"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Code {
                        party: Party::NewHolder,
                        send_no: 1,
                    },
                ),
                vec!["042917"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Invitation {
                        party: Party::NewHolder,
                        items: items.clone(),
                        deadline,
                        from: Some("Rivendita Test S.r.l.".into()),
                        other: Some("Test Azienda S.r.l.".into()),
                        steps: vec![
                            Step::Decisions,
                            Step::Login,
                            Step::Contract,
                            Step::Sms,
                            Step::Email,
                        ],
                        username: Some("demo2".into()),
                        link: 0,
                        reminder: false,
                    },
                ),
                vec![
                    "teste1234@pec.it",
                    "esempio-pec.it",
                    "28/11/2026",
                    "09:00",
                    link,
                    "42",
                    "Rivendita Test S.r.l.",
                    "Test Azienda S.r.l.",
                    "demo2",
                ],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Invitation {
                        party: Party::CurrentHolder,
                        items: items.clone(),
                        deadline,
                        from: Some("Rivendita Test S.r.l.".into()),
                        other: Some("testdue duetest".into()),
                        steps: vec![Step::Decisions, Step::Sms],
                        username: None,
                        link: 0,
                        reminder: false,
                    },
                ),
                vec![
                    "teste1234@pec.it",
                    link,
                    "Rivendita Test S.r.l.",
                    "testdue duetest",
                ],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Confirmation {
                        party: Party::CurrentHolder,
                        moved: items.clone(),
                        kept: kept.clone(),
                        handed_over_to: None,
                    },
                ),
                vec!["teste1234@pec.it", "altra@pec.it", "42"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Confirmation {
                        party: Party::NewHolder,
                        moved: items.clone(),
                        kept: vec![],
                        handed_over_to: None,
                    },
                ),
                vec!["teste1234@pec.it"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Confirmation {
                        party: Party::Initiator,
                        moved: items.clone(),
                        kept: vec![],
                        handed_over_to: Some("rivenditore2".into()),
                    },
                ),
                vec!["teste1234@pec.it", "rivenditore2"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Rejection {
                        items: items.clone(),
                        by: Some(Party::NewHolder),
                    },
                ),
                vec!["teste1234@pec.it", "42"],
            ),
            (
                sample(
                    Channel::Sms,
                    Message::NumberChanged {
                        party: Party::NewHolder,
                        number: "+39*****212".into(),
                        until: deadline,
                    },
                ),
                vec!["42", "+39*****212", "blocca#token=x"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::NumberChanged {
                        party: Party::CurrentHolder,
                        number: "+39*****212".into(),
                        until: deadline,
                    },
                ),
                vec!["42", "+39*****212", "blocca#token=x", "28/11/2026"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Cancellation {
                        items: items.clone(),
                        by_support: false,
                    },
                ),
                vec!["teste1234@pec.it", "42"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Withdrawn {
                        items: items.clone(),
                        ended: false,
                    },
                ),
                vec!["teste1234@pec.it", "esempio-pec.it", "42"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Withdrawn {
                        items: items.clone(),
                        ended: true,
                    },
                ),
                vec!["teste1234@pec.it", "esempio-pec.it", "42"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Expiry {
                        items: items.clone(),
                        deadline,
                        draft: false,
                    },
                ),
                vec!["teste1234@pec.it", "28/11/2026", "42"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::Expiry {
                        items: items.clone(),
                        deadline,
                        draft: true,
                    },
                ),
                vec!["teste1234@pec.it", "28/11/2026", "42", "24"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::PasswordReset {
                        account: AccountId::parse("acc").unwrap(),
                        mailboxes: vec!["teste1234@pec.it".into()],
                        issued_at: deadline - PasswordResetToken::VALIDITY,
                        reissued: false,
                    },
                ),
                vec!["teste1234@pec.it", "password#token=t", "28/11/2026"],
            ),
            (
                sample(
                    Channel::Email,
                    Message::PasswordReset {
                        account: AccountId::parse("acc").unwrap(),
                        mailboxes: vec!["a@pec.it".into(), "b@pec.it".into()],
                        issued_at: deadline - PasswordResetToken::VALIDITY,
                        reissued: false,
                    },
                ),
                vec![
                    "a@pec.it",
                    "https://pec.example.it/password#token=a",
                    "b@pec.it",
                    "28/11/2026",
                ],
            ),
        ];
        let code_email = sample(
            Channel::Email,
            Message::Code {
                party: Party::NewHolder,
                send_no: 1,
            },
        );
        assert_eq!(
            render(&code_email, Lingua::It).subject,
            "Cambio titolare PEC n. 42: codice di verifica"
        );
        assert_eq!(
            render(&code_email, Lingua::En).subject,
            "PEC change of holder no. 42: verification code"
        );
        let steps = [
            Step::Decisions,
            Step::HolderData,
            Step::Contract,
            Step::Sms,
            Step::Email,
        ];
        let invitation = |party| {
            sample(
                Channel::Email,
                Message::Invitation {
                    party,
                    items: vec![],
                    deadline,
                    from: Some("Rivendita Test S.r.l.".into()),
                    other: Some("Anna Verdi".into()),
                    steps: steps.to_vec(),
                    username: None,
                    link: 0,
                    reminder: false,
                },
            )
        };
        let current = render(&invitation(Party::CurrentHolder), Lingua::It).text;
        assert!(
            current.contains(
                "di cui sei l'attuale titolare; il nuovo titolare proposto è «Anna Verdi»:"
            ),
            "{current}"
        );
        assert!(
            current.contains("La cancellazione del contenuto delle caselle PEC è a tuo carico")
        );
        // Why this person, what losing access means, what doing nothing means, how to
        // check the email, by whom.
        assert!(current.starts_with("Gentile Mario Rossi,"), "{current}");
        assert!(current.contains("perdi l'accesso alle caselle"));
        assert!(current.contains("senza la tua conferma i servizi restano come sono"));
        assert!(current.contains("contatta l'assistenza: assistenza@pec.example.it"));
        assert!(current.ends_with("PEC Esempio S.p.A., servizio clienti PEC"));
        assert!(current.contains("(ora italiana)"));
        let new = render(&invitation(Party::NewHolder), Lingua::It).text;
        // Proposed, not done; the steps in the order of docs/rules.md; what the change means.
        assert!(
            new.contains("«Rivendita Test S.r.l.» propone che tu diventi il nuovo titolare"),
            "{new}"
        );
        let order: Vec<usize> = [
            "accetta o rifiuta",
            "conferma i dati",
            "condizioni contrattuali",
            "via SMS",
            "via email",
        ]
        .iter()
        .map(|s| new.find(s).unwrap_or_else(|| panic!("{s} missing: {new}")))
        .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "steps in order: {new}"
        );
        assert!(new.contains("lo storico degli accessi viene azzerato"));
        let rejected = |by| {
            render(
                &sample(
                    Channel::Email,
                    Message::Rejection {
                        items: items.clone(),
                        by: Some(by),
                    },
                ),
                Lingua::It,
            )
            .text
        };
        assert!(rejected(Party::CurrentHolder).contains("rifiutato dall'attuale titolare;"));
        assert!(rejected(Party::NewHolder).contains("rifiutato dal nuovo titolare;"));
        for (template, needles) in &templates {
            for lingua in [Lingua::It, Lingua::En] {
                let r = render(template, lingua);
                for needle in needles {
                    assert!(
                        r.text.contains(needle),
                        "{template:?} {lingua:?} text lacks {needle}: {}",
                        r.text
                    );
                    if !r.html.is_empty() {
                        assert!(
                            r.html.contains(&escape(needle)),
                            "{template:?} {lingua:?} html lacks {needle}"
                        );
                    }
                }
                for text in [&r.subject, &r.text, &r.html] {
                    assert!(
                        !text.contains('{') && !text.contains("}}") && !text.contains("{{"),
                        "unfilled placeholder in {text}"
                    );
                }
                if template.channel == Channel::Email {
                    assert!(!r.subject.is_empty() && r.html.starts_with("<!doctype html>"));
                }
                // Every deadline a person must meet says whose clock it is.
                if template.channel == Channel::Email
                    && matches!(
                        template.message,
                        Message::Invitation { .. }
                            | Message::Expiry { .. }
                            | Message::PasswordReset { .. }
                            | Message::NumberChanged { .. }
                    )
                {
                    let zone = match lingua {
                        Lingua::It => "(ora italiana",
                        Lingua::En => "(Rome time",
                    };
                    assert!(r.text.contains(zone), "{template:?} {lingua:?}: {}", r.text);
                }
            }
        }
        // The password email in the singular and the plural, each mailbox with its deadline,
        // and how to get a new link.
        let one = render(
            &sample(
                Channel::Email,
                Message::PasswordReset {
                    account: AccountId::parse("acc").unwrap(),
                    mailboxes: vec!["teste1234@pec.it".into()],
                    issued_at: deadline - PasswordResetToken::VALIDITY,
                    reissued: false,
                },
            ),
            Lingua::It,
        );
        assert!(
            one.subject.contains("della casella teste1234@pec.it"),
            "{}",
            one.subject
        );
        assert!(one.text.contains("Se il link è scaduto, aprilo comunque"));
        // A new link someone asked for says it replaces the earlier ones, to the one address
        // links go to.
        let again = render(
            &sample(
                Channel::Email,
                Message::PasswordReset {
                    account: AccountId::parse("acc").unwrap(),
                    mailboxes: vec!["teste1234@pec.it".into()],
                    issued_at: deadline - PasswordResetToken::VALIDITY,
                    reissued: true,
                },
            ),
            Lingua::It,
        );
        assert!(again.subject.starts_with("Nuovo link"), "{}", again.subject);
        assert!(again.text.contains("Sostituisce i link inviati prima"));
        assert!(again.text.contains("quello che hai verificato"));
        assert!(again.text.contains("password#token=t"));
        let two = render(
            &sample(
                Channel::Email,
                Message::PasswordReset {
                    account: AccountId::parse("acc").unwrap(),
                    mailboxes: vec!["a@pec.it".into(), "b@pec.it".into()],
                    issued_at: deadline - PasswordResetToken::VALIDITY,
                    reissued: false,
                },
            ),
            Lingua::It,
        );
        assert!(
            two.subject.contains("delle tue 2 caselle PEC"),
            "{}",
            two.subject
        );
        assert!(
            two.text
                .contains("- b@pec.it, entro il 28/11/2026 alle 09:00 (ora italiana): "),
            "{}",
            two.text
        );
        assert!(
            render(&templates[4].0, Lingua::It)
                .text
                .contains("cancellazione del contenuto"),
            "the old holder is reminded of their duty"
        );
        assert!(
            render(&templates[0].0, Lingua::It).text.len() <= 160,
            "one SMS segment"
        );
    }

    #[test]
    fn html_escapes_what_it_shows() {
        let items = vec!["<script>@pec.it".to_owned()];
        let r = render(
            &sample(
                Channel::Email,
                Message::Rejection {
                    items: items.clone(),
                    by: None,
                },
            ),
            Lingua::It,
        );
        assert!(r.html.contains("&lt;script&gt;") && !r.html.contains("<script>"));
    }
}
