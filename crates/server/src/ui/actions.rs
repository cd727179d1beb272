//! The workbench's forms: sign-in and sign-out, the case actions (note, assign, state,
//! snooze, close, tag) and the report steps (draft, approve, return). Each checks the session
//! and its CSRF token first, acts through the same store calls as the API (which check roles,
//! versions and four eyes), then redirects to the page with a message (post/redirect/get).

use super::session::{self, Who};
use super::{checked_form, error_page, form_with_store, page, refusal, Nav};
use crate::app::Shared;
use crate::cases::{run_blocking, StoreFailure};
use askama::Template;
use axum::extract::{Form, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use osecwatch_cases::{CaseState, Disposition, DraftEdits};
use std::collections::HashMap;

type Fields = HashMap<String, String>;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
    idle_minutes: u64,
    absolute_hours: u64,
}

fn login_form(s: &Shared, status: StatusCode, error: Option<String>) -> Response {
    // No session yet: the form's CSRF token is a double-submit cookie.
    let Ok(csrf) = crate::auth::generate_secret() else {
        return error_page(None, StatusCode::INTERNAL_SERVER_ERROR, "no randomness from the operating system");
    };
    let cookie = session::set_cookie(session::LOGIN_COOKIE, &csrf, session::IDLE, s.ui.secure);
    let mut r = page(
        status,
        LoginPage {
            nav: None,
            csrf,
            error,
            idle_minutes: session::IDLE.as_secs() / 60,
            absolute_hours: session::ABSOLUTE.as_secs() / 3600,
        },
    );
    if let Ok(v) = cookie.parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /ui/login`.
pub(crate) async fn login_page(State(s): State<Shared>) -> Response {
    login_form(&s, StatusCode::OK, None)
}

/// `POST /ui/login`: a user token for a session.
pub(crate) async fn login(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let sent = f.get("csrf").map(String::as_str).unwrap_or("");
    let expected = session::cookie(&headers, session::LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !session::same_secret(sent, expected) {
        return login_form(
            &s,
            StatusCode::FORBIDDEN,
            Some("the sign-in form was stale or forged (CSRF); try again".into()),
        );
    }
    let token = f.get("token").map(|t| t.trim()).filter(|t| !t.is_empty());
    let user = s.tokens.identify(token, crate::auth::Scope::Cases).ok().and_then(|i| i.user);
    let Some((user, role)) = user else {
        // The same answer for an unknown token and a token without a user: no probing.
        tracing::info!("workbench sign-in refused");
        return login_form(
            &s,
            StatusCode::UNAUTHORIZED,
            Some(
                "that token is not a user's token with case access; ask an administrator (`osecwatch users add`)"
                    .into(),
            ),
        );
    };
    let Some(id) = s.ui.sessions.create(&user, role) else {
        return error_page(None, StatusCode::INTERNAL_SERVER_ERROR, "no randomness from the operating system");
    };
    tracing::info!(role = role.as_str(), "workbench sign-in");
    let mut r = Redirect::to("/ui/queue").into_response();
    for c in [
        session::set_cookie(session::COOKIE, &id, session::ABSOLUTE, s.ui.secure),
        session::set_cookie(session::LOGIN_COOKIE, "", std::time::Duration::ZERO, s.ui.secure),
    ] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// `POST /ui/logout`.
pub(crate) async fn logout(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let who = match checked_form(&s, &headers, &f) {
        Ok(w) => w,
        Err(r) => return r,
    };
    s.ui.sessions.remove(&who.id);
    let mut r = Redirect::to("/ui/login").into_response();
    if let Ok(v) = session::set_cookie(session::COOKIE, "", std::time::Duration::ZERO, s.ui.secure).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn field<'f>(f: &'f Fields, name: &str) -> &'f str {
    f.get(name).map(|v| v.trim()).unwrap_or("")
}

fn version(f: &Fields) -> Result<i64, String> {
    field(f, "version").parse().map_err(|_| "the form carried no case version; reload the case".to_string())
}

/// Back to a page with a message.
fn done(s: &Shared, who: &Who, to: String, kind: &'static str, msg: String) -> Response {
    s.ui.sessions.flash(&who.id, kind, msg);
    Redirect::to(&to).into_response()
}

/// One change to a case, read from its form.
enum CaseStep {
    Note(String),
    Assign(i64, Option<String>),
    State(i64, CaseState),
    Snooze(i64, String, String),
    Close(i64, Disposition, Option<String>),
    Tag(String),
}

impl CaseStep {
    /// The step a form asks for; `Ok(None)` for an unknown action, `Err` for a bad form.
    fn read(action: &str, f: &Fields) -> Result<Option<CaseStep>, String> {
        let opt = |name: &str| Some(field(f, name).to_string()).filter(|v| !v.is_empty());
        Ok(Some(match action {
            "note" => CaseStep::Note(field(f, "text").to_string()),
            "assign" => CaseStep::Assign(version(f)?, opt("to")),
            "state" => CaseStep::State(version(f)?, CaseState::parse(field(f, "to")).ok_or("unknown state")?),
            // A date from the form means the end of that day, UTC.
            "snooze" => {
                CaseStep::Snooze(version(f)?, format!("{}T23:59:59Z", field(f, "until")), field(f, "reason").into())
            }
            "close" => CaseStep::Close(
                version(f)?,
                Disposition::parse(field(f, "disposition")).ok_or("unknown disposition")?,
                opt("reason"),
            ),
            "tag" => CaseStep::Tag(field(f, "tag").to_string()),
            _ => return Ok(None),
        }))
    }

    /// Apply it as `actor`; the message for the page.
    fn apply(
        self,
        st: &mut osecwatch_cases::Store,
        actor: &osecwatch_cases::Actor,
        id: &str,
    ) -> Result<String, osecwatch_cases::CaseError> {
        Ok(match self {
            CaseStep::Note(text) => {
                st.add_note(actor, id, &text)?;
                "note added".into()
            }
            CaseStep::Assign(v, to) => {
                st.assign(actor, id, v, to.as_deref())?;
                format!("assigned to {}", to.as_deref().unwrap_or("nobody"))
            }
            CaseStep::State(v, state) => {
                st.transition(actor, id, v, state)?;
                format!("moved to {}", state.as_str())
            }
            CaseStep::Snooze(v, until, reason) => {
                st.snooze(actor, id, v, &until, &reason)?;
                format!("snoozed until {until}")
            }
            CaseStep::Close(v, d, reason) => {
                st.close(actor, id, v, d, reason.as_deref())?;
                format!("closed as {}", d.as_str())
            }
            CaseStep::Tag(tag) => {
                st.tag(actor, id, &tag)?;
                format!("tagged {tag}")
            }
        })
    }
}

/// `POST /ui/cases/{id}/{action}`: note, assign, state, snooze, close, tag.
pub(crate) async fn case_action(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((id, action)): UrlPath<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let (who, svc) = match form_with_store(&s, &headers, &f) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let to = format!("/ui/cases/{id}");
    let step = match CaseStep::read(&action, &f) {
        Ok(Some(step)) => step,
        Ok(None) => return error_page(Some(&who), StatusCode::NOT_FOUND, "no such action"),
        Err(e) => return done(&s, &who, to, "error", e),
    };
    let actor = who.actor();
    let confirmed = matches!(step, CaseStep::Close(_, Disposition::ConfirmedOsec, _));
    let outcome = run_blocking(svc, move |c| {
        c.with(|st| {
            let msg = step.apply(st, &actor, &id)?;
            let entity = if confirmed { Some(st.entity_of(&id)?) } else { None };
            Ok((msg, entity))
        })
    })
    .await;
    let outcome = match outcome {
        // A confirmed buyer or facilitator becomes a seed of the engine, as over the API.
        Ok((msg, Some((kind, entity_id)))) => {
            match crate::handlers::cases::seed_confirmed(&s, &kind, entity_id, &to, &who.user).await {
                Some(_) => Ok(format!("{msg}; the entity is now a seed of the network rules")),
                None => Ok(msg),
            }
        }
        other => other.map(|(msg, _)| msg),
    };
    finish(&s, &who, to, outcome)
}

/// The customer fields the report form offers (name in `goaml::Client`, label).
pub(crate) const CLIENT_FIELDS: [(&str, &str); 17] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("birthdate", "Birth date (YYYY-MM-DD)"),
    ("ssn", "Tax or social security number"),
    ("nationality", "Nationality (ISO code; reported, never scored)"),
    ("residence", "Country of residence"),
    ("phone", "Phone (+49 30 1234567)"),
    ("occupation", "Occupation"),
    ("address", "Street address"),
    ("city", "City"),
    ("zip", "Post code"),
    ("country", "Country of the address"),
    ("iban", "IBAN"),
    ("opened", "Account opened (YYYY-MM-DD)"),
    ("customer_id", "Customer number"),
    ("branch", "Branch"),
    ("currency", "Account currency"),
];

/// The analyst's edits from the report form, over the last draft's.
fn edits_of(f: &Fields, entity_id: &str, mut base: DraftEdits) -> DraftEdits {
    // A narrative left as drafted is not an edit: the next draft writes it afresh from the
    // case (new alerts, fixed customer data).
    let narrative = field(f, "narrative").replace("\r\n", "\n");
    let drafted = field(f, "drafted_narrative").replace("\r\n", "\n");
    base.narrative = (!narrative.is_empty() && narrative != drafted).then_some(narrative);
    let action = field(f, "action");
    base.action = (!action.is_empty()).then(|| action.to_string());
    let mut client = serde_json::Map::new();
    client.insert("account_id".into(), entity_id.into());
    for (name, _) in CLIENT_FIELDS {
        let v = field(f, &format!("client.{name}"));
        if !v.is_empty() {
            client.insert(name.into(), v.into());
        }
    }
    if client.len() > 1 {
        if let Ok(c) = serde_json::from_value::<osecwatch_goaml::Client>(serde_json::Value::Object(client)) {
            base.clients.retain(|x| x.account_id != entity_id);
            base.clients.push(c);
        }
    }
    base
}

/// `POST /ui/cases/{id}/report/{action}`: draft, approve, return.
pub(crate) async fn report_action(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((id, action)): UrlPath<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let (who, svc) = match form_with_store(&s, &headers, &f) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let to = format!("/ui/cases/{id}/report");
    let actor = who.actor();
    let report_id = field(&f, "report_id").to_string();
    let outcome = match action.as_str() {
        "draft" => {
            let v = match version(&f) {
                Ok(v) => v,
                Err(e) => return done(&s, &who, to, "error", e),
            };
            run_blocking(svc, move |c| {
                c.with(|st| {
                    let (_, entity) = st.entity_of(&id)?;
                    let edits = edits_of(&f, &entity, st.last_edits(&id)?);
                    let d = st.draft_report(&actor, &id, v, &c.settings, &edits)?;
                    Ok(match d.problems.len() {
                        0 => format!("report {} drafted; it has no problems and waits for a supervisor", d.report_id),
                        n => format!("report {} drafted with {n} problem(s) to fix", d.report_id),
                    })
                })
            })
            .await
        }
        "approve" => {
            run_blocking(svc, move |c| {
                c.approve(&actor, &id, &report_id)
                    .map(|r| format!("report {} approved; download the XML for filing", r.report_id))
            })
            .await
        }
        "return" => {
            let comment = field(&f, "comment").to_string();
            run_blocking(svc, move |c| {
                c.with(|st| st.return_report(&actor, &id, &report_id, &comment))
                    .map(|_| format!("report {report_id} returned to the analyst"))
            })
            .await
        }
        _ => return error_page(Some(&who), StatusCode::NOT_FOUND, "no such report step"),
    };
    finish(&s, &who, to, outcome)
}

/// Back to the page with the outcome: the message, or a refusal's reason the user can act on;
/// a failure of the store itself stays an error page.
fn finish(s: &Shared, who: &Who, to: String, outcome: Result<String, StoreFailure>) -> Response {
    match outcome {
        Ok(msg) => done(s, who, to, "ok", msg),
        Err(e) => match refusal(e) {
            (StatusCode::INTERNAL_SERVER_ERROR, why) => error_page(Some(who), StatusCode::INTERNAL_SERVER_ERROR, why),
            (_, why) => done(s, who, to, "error", why),
        },
    }
}
