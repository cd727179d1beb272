//! `osecwatch users`, and the user a case command acts as.

use super::StoreArgs;
use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use osecwatch_cases::{Actor, Role};
use osecwatch_server::auth::{mint_user_token, Scope, Tokens};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user (or change their role) and print a new token for them, once.
    Add {
        name: String,
        /// analyst, supervisor or admin.
        #[arg(long)]
        role: String,
    },
    /// Mint another token for an existing user (the same user for four eyes).
    Token { name: String },
}

#[derive(Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: UsersCommand,
}

pub fn run_users(a: UsersArgs) -> Result<()> {
    std::fs::create_dir_all(&a.store.data_dir)?;
    let file = a.store.data_dir.join("tokens.toml");
    let (name, secret) = match a.command {
        UsersCommand::Add { name, role } => {
            let r = Role::parse(&role).ok_or_else(|| anyhow!("role `{role}`: analyst, supervisor or admin"))?;
            let s = mint_user_token(&file, &name, Some(r)).map_err(anyhow::Error::msg)?;
            (name, s)
        }
        UsersCommand::Token { name } => {
            let s = mint_user_token(&file, &name, None).map_err(anyhow::Error::msg)?;
            (name, s)
        }
    };
    crate::out(&format!(
        "token for {name} (shown once; only its hash is stored in {}):\n{secret}\nuse it as OSECWATCH_TOKEN for `osecwatch cases` or as a Bearer token on /v1/cases\n",
        file.display()
    ));
    Ok(())
}

/// The user acting: `OSECWATCH_TOKEN` checked against the token file(s).
pub(super) fn actor(store: &StoreArgs) -> Result<Actor> {
    let token = std::env::var("OSECWATCH_TOKEN").map_err(|_| {
        anyhow!("set OSECWATCH_TOKEN to your user token (`osecwatch users add NAME --role ROLE` makes one)")
    })?;
    let mut tokens = Tokens::default();
    let file = std::env::var_os("OSECWATCH_TOKENS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| store.data_dir.join("tokens.toml"));
    tokens.load_file(&file).map_err(anyhow::Error::msg)?;
    let id = tokens.identify(Some(token.trim()), Scope::Cases).map_err(|d| match d {
        osecwatch_server::auth::Denied::Unauthenticated => {
            anyhow!("OSECWATCH_TOKEN matches no token in {}", file.display())
        }
        osecwatch_server::auth::Denied::Forbidden => anyhow!("this token lacks the `cases` scope"),
    })?;
    let (user, role) =
        id.user.ok_or_else(|| anyhow!("token `{}` belongs to no user; case work needs a user token", id.token))?;
    Ok(Actor::new(&user, role))
}
