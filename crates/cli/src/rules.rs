//! `osecwatch rules`: the built-in packs shown, an edited pack checked, the feature catalogue.
//!
//! Every command that takes `--rules` uses the built-in OSEC pack when none is given (as
//! `serve` does), so the binary works outside the source tree. `--rules builtin:NAME` names a
//! built-in pack explicitly; anything else is a pack file.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use osecwatch_engine::{Feature, RulePack, BUILTIN_PACKS};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Print a built-in pack (default: osec) as TOML, to start an edited copy from.
    Show {
        /// Built-in pack name (osec, baseline).
        #[arg(default_value = "osec")]
        name: String,
    },
    /// Check a pack file: it compiles, and what it holds (typologies, rules, features read).
    Check {
        /// The pack file (TOML).
        file: std::path::PathBuf,
    },
    /// List every feature a rule can read, with its meaning.
    Features,
}

/// The pack a command runs: the file given, `builtin:NAME`, or the built-in OSEC pack.
pub fn load_pack(arg: Option<&Path>) -> Result<RulePack> {
    Ok(RulePack::load(arg).context("rule pack (`osecwatch rules check FILE` says more)")?.0)
}

pub fn run_rules(c: RulesCommand) -> Result<()> {
    match c {
        RulesCommand::Show { name } => match RulePack::builtin_text(&name) {
            Some(text) => crate::out(text),
            None => bail!(
                "no built-in pack `{name}` (built in: {})",
                BUILTIN_PACKS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        },
        RulesCommand::Check { file } => {
            let pack = RulePack::from_file(&file)?;
            crate::out(&describe(&pack, &file.display().to_string()));
        }
        RulesCommand::Features => {
            let mut o = String::new();
            for f in Feature::ALL {
                let _ = writeln!(o, "{:44} {}", f.name(), f.doc());
            }
            crate::out(&o);
        }
    }
    Ok(())
}

/// A checked pack in a few lines: what it is and what it holds.
fn describe(pack: &RulePack, file: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{file}: ok: pack `{}` version {}", pack.meta.id, pack.meta.version);
    for (t, ty) in pack.typologies.iter().enumerate() {
        let rules = &pack.by_typology[t];
        let mitigating = rules
            .iter()
            .filter(|r| {
                let (_, bands, points) = pack.rules[**r].scoring();
                points < 0.0 || bands.iter().any(|b| b.1 < 0.0)
            })
            .count();
        let sufficient = rules.iter().filter(|r| pack.rules[**r].sufficient).count();
        let _ = writeln!(
            o,
            "  {} ({}): {} rules ({} mitigating, {} enough on their own); review at {}, block at {}, {} agreeing rules needed",
            ty.id,
            ty.entity.as_str(),
            rules.len(),
            mitigating,
            sufficient,
            ty.review,
            ty.block,
            ty.min_rules
        );
    }
    let used: Vec<&str> = Feature::ALL.iter().filter(|f| pack.uses(**f)).map(|f| f.name()).collect();
    let _ = writeln!(o, "  reads {} of {} features: {}", used.len(), Feature::ALL.len(), used.join(", "));
    o
}
