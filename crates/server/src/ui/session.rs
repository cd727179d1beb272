//! Workbench sessions: a user signs in with their token once and gets a random session id in
//! an `HttpOnly`, `SameSite=Strict` cookie (`Secure` under TLS); the token itself never
//! travels again. Sessions live in memory (a restart signs everyone out), end after
//! [`IDLE`] without a request or [`ABSOLUTE`] after sign-in, and carry the CSRF token every
//! form must send back.

use crate::auth::generate_secret;
use osecwatch_cases::Role;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// The session cookie's name.
pub const COOKIE: &str = "osw_session";
/// The sign-in form's double-submit cookie (there is no session to hold its CSRF token yet).
pub const LOGIN_COOKIE: &str = "osw_login";

/// A message for the next page the user sees (after a form's redirect).
#[derive(Debug, Clone)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: &'static str,
    /// The message, in words.
    pub text: String,
}

/// What a page knows of the signed-in user.
#[derive(Debug, Clone)]
pub struct Who {
    /// The session id (the cookie's value).
    pub id: String,
    /// The user.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// The token every form sends back.
    pub csrf: String,
    /// A message left by the last form, shown once.
    pub flash: Option<Flash>,
}

impl Who {
    /// Whether the user may approve or return reports.
    pub fn supervises(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }
    /// The case actor for the store.
    pub fn actor(&self) -> osecwatch_cases::Actor {
        osecwatch_cases::Actor::new(&self.user, self.role)
    }
}

struct Session {
    user: String,
    role: Role,
    csrf: String,
    created: Instant,
    seen: Instant,
    flash: Option<Flash>,
}

/// The signed-in sessions.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

pub(crate) use crate::auth::same_secret;

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a session for a user; returns its id (`None` without the system's randomness:
    /// a guessable session id would be worse than none).
    pub fn create(&self, user: &str, role: Role) -> Option<String> {
        let id = generate_secret().ok()?;
        let csrf = generate_secret().ok()?;
        let now = Instant::now();
        let mut m = self.lock();
        // Expired sessions go when someone signs in, so the map never outgrows its users.
        m.retain(|_, s| alive(s, now));
        m.insert(id.clone(), Session { user: user.into(), role, csrf, created: now, seen: now, flash: None });
        Some(id)
    }

    /// The live session with this id (its idle clock restarts; its flash is taken).
    pub fn get(&self, id: &str) -> Option<Who> {
        let now = Instant::now();
        let mut m = self.lock();
        let s = m.get_mut(id)?;
        if !alive(s, now) {
            m.remove(id);
            return None;
        }
        s.seen = now;
        Some(Who { id: id.into(), user: s.user.clone(), role: s.role, csrf: s.csrf.clone(), flash: s.flash.take() })
    }

    /// Leave a message for the session's next page.
    pub fn flash(&self, id: &str, kind: &'static str, text: impl Into<String>) {
        if let Some(s) = self.lock().get_mut(id) {
            s.flash = Some(Flash { kind, text: text.into() });
        }
    }

    /// End a session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Sessions in memory (for tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.seen) < IDLE && now.duration_since(s.created) < ABSOLUTE
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the workbench: only sent to `/ui`, never readable by scripts,
/// never sent with a request another site starts.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_answer_and_end() {
        let s = Sessions::default();
        let id = s.create("anna", Role::Analyst).unwrap();
        let who = s.get(&id).expect("a new session is live");
        assert_eq!((who.user.as_str(), who.role, who.csrf.len()), ("anna", Role::Analyst, 64));
        assert!(s.get("not-a-session").is_none());
        s.flash(&id, "ok", "saved");
        assert_eq!(s.get(&id).unwrap().flash.map(|f| f.text), Some("saved".to_string()));
        assert!(s.get(&id).unwrap().flash.is_none(), "a flash is shown once");
        s.remove(&id);
        assert!(s.get(&id).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn an_idle_session_expires() {
        let s = Sessions::default();
        let id = s.create("anna", Role::Analyst).unwrap();
        s.lock().get_mut(&id).unwrap().seen = Instant::now() - IDLE - Duration::from_secs(1);
        assert!(s.get(&id).is_none(), "idle past the limit");
        let id = s.create("anna", Role::Analyst).unwrap();
        s.lock().get_mut(&id).unwrap().created = Instant::now() - ABSOLUTE - Duration::from_secs(1);
        assert!(s.get(&id).is_none(), "past the absolute limit, however busy");
    }

    #[test]
    fn cookies_are_read_and_written_strictly() {
        let mut h = axum::http::HeaderMap::new();
        h.append(axum::http::header::COOKIE, "a=1; osw_session=abc".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        let c = set_cookie(COOKIE, "abc", IDLE, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"), "{c}");
        assert!(!set_cookie(COOKIE, "abc", IDLE, false).contains("Secure"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
