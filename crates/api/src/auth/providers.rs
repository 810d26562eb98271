//! The OAuth sign-in providers enabled by configuration: GitHub, and one generic OAuth2/OIDC
//! provider with a Vercel preset.

use secrecy::SecretString;

use crate::config::{OidcSettings, Settings};

/// Where a provider's user profile comes from.
#[derive(Debug, Clone)]
pub enum ProfileSource {
    /// GitHub's REST API (`/user`, `/user/emails`).
    Github {
        /// API base URL.
        api_url: String,
    },
    /// An OIDC-style userinfo endpoint.
    Userinfo {
        /// The endpoint.
        url: String,
    },
}

/// One enabled provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Id used in URLs and stored on identities.
    pub id: String,
    /// Display name.
    pub name: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// Where the profile is read.
    pub profile: ProfileSource,
}

/// GitHub's scopes: repository access for tasks, the profile and the email.
pub const GITHUB_SCOPES: [&str; 3] = ["repo", "read:user", "user:email"];

struct Preset {
    name: &'static str,
    authorize_url: &'static str,
    token_url: &'static str,
    userinfo_url: &'static str,
    scopes: &'static [&'static str],
}

fn preset(name: &str) -> Option<Preset> {
    match name {
        "vercel" => Some(Preset {
            name: "Vercel",
            authorize_url: "https://vercel.com/oauth/authorize",
            token_url: "https://api.vercel.com/login/oauth/token",
            userinfo_url: "https://api.vercel.com/login/oauth/userinfo",
            scopes: &["openid", "email", "profile", "offline_access"],
        }),
        _ => None,
    }
}

fn oidc_provider(cfg: &OidcSettings) -> anyhow::Result<Provider> {
    let preset = match cfg.preset.as_deref() {
        Some(name) => Some(
            preset(name)
                .ok_or_else(|| anyhow::anyhow!("unknown oidc preset `{name}` (known: vercel)"))?,
        ),
        None => None,
    };
    let pick =
        |own: &Option<String>, fallback: Option<&str>, key: &str| -> anyhow::Result<String> {
            own.clone()
                .or_else(|| fallback.map(str::to_owned))
                .ok_or_else(|| anyhow::anyhow!("oidc.{key} is required without a preset"))
        };
    Ok(Provider {
        id: cfg.id.clone().or_else(|| cfg.preset.clone()).unwrap_or_else(|| "oidc".into()),
        name: cfg
            .name
            .clone()
            .or_else(|| preset.as_ref().map(|p| p.name.to_owned()))
            .unwrap_or_else(|| "Single sign-on".into()),
        client_id: cfg.client_id.clone(),
        client_secret: cfg.client_secret.clone(),
        authorize_url: pick(
            &cfg.authorize_url,
            preset.as_ref().map(|p| p.authorize_url),
            "authorize_url",
        )?,
        token_url: pick(&cfg.token_url, preset.as_ref().map(|p| p.token_url), "token_url")?,
        scopes: cfg.scopes.clone().unwrap_or_else(|| {
            preset
                .as_ref()
                .map(|p| p.scopes.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()])
        }),
        profile: ProfileSource::Userinfo {
            url: pick(&cfg.userinfo_url, preset.as_ref().map(|p| p.userinfo_url), "userinfo_url")?,
        },
    })
}

/// The enabled providers, GitHub first. Fails on an incomplete configuration, at startup.
pub fn enabled(settings: &Settings) -> anyhow::Result<Vec<Provider>> {
    let mut out = Vec::new();
    let gh = &settings.github;
    if let Some(client_id) = &gh.client_id {
        out.push(Provider {
            id: "github".into(),
            name: "GitHub".into(),
            client_id: client_id.clone(),
            client_secret: gh.client_secret.clone(),
            authorize_url: gh.authorize_url.clone(),
            token_url: gh.token_url.clone(),
            scopes: GITHUB_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                // Private organisation memberships are visible with `read:org` only.
                .chain((!settings.auth.allowed_github_orgs.is_empty()).then(|| "read:org".into()))
                .collect(),
            profile: ProfileSource::Github { api_url: gh.api_url.trim_end_matches('/').to_owned() },
        });
    }
    if let Some(cfg) = &settings.oidc {
        let provider = oidc_provider(cfg)?;
        if out.iter().any(|p| p.id == provider.id) {
            anyhow::bail!("oidc.id `{}` clashes with another provider", provider.id);
        }
        out.push(provider);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vercel_preset_fills_endpoints() {
        let settings =
            Settings::from_toml("[oidc]\npreset = \"vercel\"\nclient_id = \"abc\"\n").unwrap();
        let providers = enabled(&settings).unwrap();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].id, "vercel");
        assert_eq!(providers[0].token_url, "https://api.vercel.com/login/oauth/token");
    }

    #[test]
    fn generic_provider_needs_its_endpoints() {
        let settings = Settings::from_toml("[oidc]\nclient_id = \"abc\"\n").unwrap();
        let err = enabled(&settings).unwrap_err().to_string();
        assert!(err.contains("authorize_url"), "{err}");
    }
}
