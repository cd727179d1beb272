//! API tokens with scopes. Tokens are kept only as SHA-256 digests; a presented token is
//! hashed and compared with every configured digest in constant time, so neither the
//! comparison nor the position of a match leaks through timing. Tokens are never logged.

use osecwatch_cases::Role;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Why tokens could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A stored digest is not hexadecimal.
    #[error("token `{name}`: sha256 is not hex")]
    NotHex {
        /// The token's name.
        name: String,
    },
    /// A stored digest is not 32 bytes.
    #[error("token `{name}`: sha256 must be 32 bytes")]
    WrongLength {
        /// The token's name.
        name: String,
    },
    /// The token file cannot be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// The token file is not the expected TOML.
    #[error("{0}")]
    Parse(toml::de::Error),
    /// A problem in a token file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        source: Box<TokenError>,
    },
    /// An `OSECWATCH_TOKENS` entry without three parts.
    #[error("OSECWATCH_TOKENS: expected name:scope+scope:secret")]
    EnvShape,
    /// An `OSECWATCH_TOKENS` entry names a scope that does not exist.
    #[error("OSECWATCH_TOKENS: token `{name}`: unknown scope `{scope}` (screen, ingest, read, cases, admin)")]
    UnknownScope {
        /// The token's name.
        name: String,
        /// The scope it names.
        scope: String,
    },
    /// An `OSECWATCH_TOKENS` secret too short to be safe.
    #[error("OSECWATCH_TOKENS: token `{name}`: secret shorter than 16 characters")]
    ShortSecret {
        /// The token's name.
        name: String,
    },
    /// A user name with characters other than letters, digits and `-_.@`.
    #[error("user name `{0}`: 1 to 64 letters, digits or -_.@")]
    BadUser(String),
    /// A token for a user that does not exist (give a role to create the user).
    #[error("no user `{0}`; give --role to create one")]
    NoSuchUser(String),
    /// The token file could not be written.
    #[error("cannot write the token file: {0}")]
    Write(String),
    /// The operating system gave no randomness for a new secret.
    #[error("no randomness from the operating system: {0}")]
    NoRandomness(String),
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Screen single payments.
    Screen,
    /// Ingest batches and ISO 20022 messages.
    Ingest,
    /// Read alerts, entity profiles and metrics.
    Read,
    /// Work cases: read them, change them, draft and approve reports (the user's role
    /// decides which).
    Cases,
    /// Everything, and administration.
    Admin,
}

impl Scope {
    /// The scope's name, as tokens and the OpenAPI document write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Screen => "screen",
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Cases => "cases",
            Scope::Admin => "admin",
        }
    }

    /// A scope by its name.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "screen" => Some(Scope::Screen),
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "cases" => Some(Scope::Cases),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A token as stored: its name, the SHA-256 digest of its secret, its scopes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Who or what uses it.
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The user it belongs to (case work and approvals check the user, not the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A named user and their role in case work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    /// The user's name.
    pub name: String,
    /// `analyst`, `supervisor` or `admin`.
    pub role: Role,
}

/// The token file (`tokens.toml`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenFile {
    /// Named users.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// Every token.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

#[derive(Debug, Clone)]
struct Token {
    name: String,
    digest: [u8; 32],
    scopes: Vec<Scope>,
    user: Option<String>,
}

/// Who presented a token: the token's name and, when it belongs to one, the user and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name.
    pub token: String,
    /// The user and their role.
    pub user: Option<(String, Role)>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token, or no token matches: 401.
    Unauthenticated,
    /// A valid token without the scope: 403.
    Forbidden,
}

/// The tokens the service accepts (digests only; secrets are never stored), and the users
/// they belong to.
#[derive(Debug, Clone, Default)]
pub struct Tokens(Vec<Token>, Vec<UserEntry>);

/// SHA-256 of a secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut d = 0u8;
    for i in 0..32 {
        d |= a[i] ^ b[i];
    }
    // black_box keeps the compiler from turning the loop into an early-exit comparison.
    std::hint::black_box(d) == 0
}

impl Tokens {
    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A token from its secret.
    pub fn add_secret(&mut self, name: &str, secret: &str, scopes: Vec<Scope>) {
        self.0.push(Token { name: name.to_string(), digest: digest(secret), scopes, user: None });
    }

    /// A token of a user from its secret (tests, the demo).
    pub fn add_user_secret(&mut self, name: &str, secret: &str, scopes: Vec<Scope>, user: &str) {
        self.0.push(Token { name: name.to_string(), digest: digest(secret), scopes, user: Some(user.to_string()) });
    }

    /// A user and their role (a later entry for the same name replaces the role).
    pub fn add_user(&mut self, u: UserEntry) {
        self.1.retain(|x| x.name != u.name);
        self.1.push(u);
    }

    /// A token from its stored form (name, SHA-256 digest in hex, scopes).
    pub fn add_entry(&mut self, e: &TokenEntry) -> Result<(), TokenError> {
        let bytes = hex::decode(&e.sha256).map_err(|_| TokenError::NotHex { name: e.name.clone() })?;
        let digest: [u8; 32] = bytes.try_into().map_err(|_| TokenError::WrongLength { name: e.name.clone() })?;
        self.0.push(Token { name: e.name.clone(), digest, scopes: e.scopes.clone(), user: e.user.clone() });
        Ok(())
    }

    /// Tokens from a TOML file (`[[tokens]] name, sha256, scopes`).
    pub fn load_file(&mut self, path: &Path) -> Result<(), TokenError> {
        let in_file = |source: TokenError| TokenError::InFile { path: path.to_path_buf(), source: Box::new(source) };
        let text = std::fs::read_to_string(path).map_err(|e| in_file(TokenError::Read(e)))?;
        let f: TokenFile = toml::from_str(&text).map_err(|e| in_file(TokenError::Parse(e)))?;
        for u in f.users {
            self.add_user(u);
        }
        for e in &f.tokens {
            self.add_entry(e).map_err(in_file)?;
        }
        Ok(())
    }

    /// Only the users of a token file and the tokens that belong to them.
    pub fn load_users_of(&mut self, path: &Path) -> Result<(), TokenError> {
        let in_file = |source: TokenError| TokenError::InFile { path: path.to_path_buf(), source: Box::new(source) };
        let text = std::fs::read_to_string(path).map_err(|e| in_file(TokenError::Read(e)))?;
        let f: TokenFile = toml::from_str(&text).map_err(|e| in_file(TokenError::Parse(e)))?;
        for u in f.users {
            self.add_user(u);
        }
        for e in f.tokens.iter().filter(|t| t.user.is_some()) {
            self.add_entry(e).map_err(in_file)?;
        }
        Ok(())
    }

    /// Tokens from `OSECWATCH_TOKENS`: `name:scope+scope:secret` entries separated by `;`.
    pub fn load_env(&mut self, value: &str) -> Result<(), TokenError> {
        for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.splitn(3, ':');
            let (Some(name), Some(scopes), Some(secret)) = (it.next(), it.next(), it.next()) else {
                return Err(TokenError::EnvShape);
            };
            let scopes = scopes
                .split('+')
                .map(|s| Scope::parse(s).ok_or_else(|| TokenError::UnknownScope { name: name.into(), scope: s.into() }))
                .collect::<Result<Vec<_>, _>>()?;
            if secret.len() < 16 {
                return Err(TokenError::ShortSecret { name: name.into() });
            }
            self.add_secret(name, secret, scopes);
        }
        Ok(())
    }

    /// The named users, with their roles (the workbench's assignee list).
    pub fn users(&self) -> Vec<(String, Role)> {
        let mut u: Vec<(String, Role)> = self.1.iter().map(|u| (u.name.clone(), u.role)).collect();
        u.sort();
        u
    }

    /// Check a presented secret for a scope and say who it is. A token of a user that is not
    /// (or no longer) listed has no user: it cannot act on cases.
    pub fn identify(&self, presented: Option<&str>, need: Scope) -> Result<Identity, Denied> {
        let name = self.check(presented, need)?.to_string();
        let d = digest(presented.unwrap_or_default());
        let user = self
            .0
            .iter()
            .find(|t| ct_eq(&t.digest, &d))
            .and_then(|t| t.user.as_ref())
            .and_then(|u| self.1.iter().find(|x| &x.name == u))
            .map(|u| (u.name.clone(), u.role));
        Ok(Identity { token: name, user })
    }

    /// Check a presented secret for a scope; returns the token's name. Admin holds every scope.
    pub fn check(&self, presented: Option<&str>, need: Scope) -> Result<&str, Denied> {
        let Some(p) = presented else { return Err(Denied::Unauthenticated) };
        let d = digest(p);
        let mut found: Option<&Token> = None;
        for t in &self.0 {
            if ct_eq(&t.digest, &d) && found.is_none() {
                found = Some(t);
            }
        }
        let t = found.ok_or(Denied::Unauthenticated)?;
        if t.scopes.contains(&need) || t.scopes.contains(&Scope::Admin) {
            Ok(&t.name)
        } else {
            Err(Denied::Forbidden)
        }
    }
}

/// Whether two secrets are equal, in time that depends on neither: their digests are compared
/// (fixed length, [`ct_eq`]), so neither the length nor the first differing byte shows.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    ct_eq(&digest(a), &digest(b))
}

/// A new random secret (32 bytes from the operating system, hex).
pub fn generate_secret() -> Result<String, TokenError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| TokenError::NoRandomness(e.to_string()))?;
    Ok(hex::encode(b))
}

/// Add a user (or change their role) in a token file and mint a token for them; the secret
/// is returned to be shown once, only its digest is stored. The file is created if missing.
pub fn mint_user_token(path: &Path, user: &str, role: Option<Role>) -> Result<String, TokenError> {
    let in_file = |source: TokenError| TokenError::InFile { path: path.to_path_buf(), source: Box::new(source) };
    let mut f: TokenFile = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| in_file(TokenError::Parse(e)))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokenFile::default(),
        Err(e) => return Err(in_file(TokenError::Read(e))),
    };
    if user.is_empty() || user.len() > 64 || !user.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b)) {
        return Err(TokenError::BadUser(user.to_string()));
    }
    match (role, f.users.iter_mut().find(|u| u.name == user)) {
        (Some(r), Some(u)) => u.role = r,
        (Some(r), None) => f.users.push(UserEntry { name: user.to_string(), role: r }),
        (None, Some(_)) => {}
        (None, None) => return Err(TokenError::NoSuchUser(user.to_string())),
    }
    let secret = generate_secret()?;
    let n = f.tokens.iter().filter(|t| t.user.as_deref() == Some(user)).count() + 1;
    f.tokens.push(TokenEntry {
        name: format!("{user}-{n}"),
        sha256: hex::encode(digest(&secret)),
        scopes: vec![Scope::Cases, Scope::Read],
        user: Some(user.to_string()),
    });
    let text = toml::to_string(&f).map_err(|e| TokenError::Write(e.to_string()))?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, format!("# API tokens (SHA-256 digests only; the secrets are not stored) and users\n{text}"))
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| in_file(TokenError::Read(e)))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_secrets() {
        let mut t = Tokens::default();
        t.load_env("app:screen+ingest:0123456789abcdef-app;ops:read:0123456789abcdef-ops").unwrap();
        t.add_secret("root", "0123456789abcdef-root", vec![Scope::Admin]);
        assert_eq!(t.check(Some("0123456789abcdef-app"), Scope::Screen), Ok("app"));
        assert_eq!(t.check(Some("0123456789abcdef-app"), Scope::Read), Err(Denied::Forbidden));
        assert_eq!(t.check(Some("0123456789abcdef-ops"), Scope::Read), Ok("ops"));
        assert_eq!(t.check(Some("0123456789abcdef-root"), Scope::Ingest), Ok("root"));
        assert_eq!(t.check(Some("wrong"), Scope::Read), Err(Denied::Unauthenticated));
        assert_eq!(t.check(None, Scope::Read), Err(Denied::Unauthenticated));
        assert!(t.load_env("x:fly:0123456789abcdef").unwrap_err().to_string().contains("unknown scope"));
        assert!(t.load_env("x:read:short").unwrap_err().to_string().contains("shorter"));
        // Tokens of users: two tokens, one user; an unlisted user's token has no user.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tokens.toml");
        assert!(mint_user_token(&f, "anna", None).is_err(), "no such user yet");
        let a1 = mint_user_token(&f, "anna", Some(Role::Admin)).unwrap();
        let a2 = mint_user_token(&f, "anna", None).unwrap();
        let mut u = Tokens::default();
        u.load_file(&f).unwrap();
        let i1 = u.identify(Some(&a1), Scope::Cases).unwrap();
        let i2 = u.identify(Some(&a2), Scope::Cases).unwrap();
        assert_ne!(i1.token, i2.token);
        assert_eq!(i1.user, Some(("anna".to_string(), Role::Admin)));
        assert_eq!(i1.user, i2.user, "a second token is the same user");
        assert_eq!(u.identify(Some(&a1), Scope::Ingest), Err(Denied::Forbidden), "user tokens do not screen");
        assert!(mint_user_token(&f, "bad name", Some(Role::Analyst)).is_err());
        let s = generate_secret().unwrap();
        assert_eq!(s.len(), 64);
        assert_ne!(s, generate_secret().unwrap());
    }
}
