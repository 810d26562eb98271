//! What every command needs before it can work: the database (external, or the embedded
//! cluster started on demand), migrations, and the master key.

use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;
use crate::crypto::{self, SecretBox};
use crate::db::embedded::EmbeddedPostgres;
use crate::db::{self, DbPool};

/// A connected environment. Call [`Runtime::shutdown`] when done, to stop an embedded cluster.
pub struct Runtime {
    /// Settings with the master key filled in.
    pub settings: Settings,
    /// The database URL in use.
    pub database_url: SecretString,
    /// The pool.
    pub pool: DbPool,
    /// The secret box.
    pub secrets: SecretBox,
    embedded: Option<EmbeddedPostgres>,
}

impl Runtime {
    /// Connects (starting the embedded cluster when `DATABASE_URL` is unset), migrates, and
    /// loads or generates the master key.
    pub async fn start(mut settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            anyhow::anyhow!("creating data dir {}: {e}", settings.data_dir.display())
        })?;
        let (database_url, embedded) = match &settings.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let pg =
                    EmbeddedPostgres::start(&settings.data_dir, settings.pg_bin_dir.as_deref())
                        .await?;
                (pg.url.clone(), Some(pg))
            }
        };
        if settings.master_key.is_none() {
            if embedded.is_none() {
                anyhow::bail!(
                    "DRYDOCK_MASTER_KEY is required with an external DATABASE_URL (base64 of 32 random bytes, e.g. `openssl rand -base64 32`); every process sharing the database needs the same key"
                );
            }
            let (key, created) = crypto::load_or_create_key_file(&settings.data_dir)?;
            let path = settings.data_dir.join("master.key");
            if created {
                tracing::warn!(path = %path.display(), "generated a new master key (mode 0600); back it up: secrets stored in the database cannot be read without it");
                eprintln!(
                    "drydock: generated a new master key at {} (mode 0600); back it up",
                    path.display()
                );
            }
            settings.master_key = Some(key);
        }
        let secrets = match &settings.master_key {
            Some(key) => SecretBox::from_config(key, &settings.previous_master_keys)?,
            None => anyhow::bail!("no master key"),
        };
        let applied = db::migrate(database_url.expose_secret()).await?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "applied migrations");
        }
        let pool = db::build_pool(database_url.expose_secret(), &settings.database)?;
        // The data migration that follows the schema ones: bind sealed values to their rows.
        let report = crate::reseal::run(&mut *pool.get().await?, &secrets).await?;
        if report.resealed > 0 {
            tracing::info!(count = report.resealed, "bound sealed values to their rows");
        }
        if report.unreadable > 0 {
            tracing::warn!(
                count = report.unreadable,
                "sealed values under an unknown master key were left as they are"
            );
        }
        Ok(Self { settings, database_url, pool, secrets, embedded })
    }

    /// Closes the pool and stops an embedded cluster this process started.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.pool.close();
        if let Some(pg) = self.embedded {
            pg.stop().await?;
        }
        Ok(())
    }
}
