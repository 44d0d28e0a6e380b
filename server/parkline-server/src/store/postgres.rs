//! PostgreSQL: for several server instances sharing one database.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::SqlStore;
use crate::error::Result;

static MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

pub(super) async fn open(url: &str, vault: std::sync::Arc<crate::vault::Vault>) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new().max_connections(16).connect(url).await?;
    // Migrations take an advisory lock, so instances starting together migrate once.
    MIGRATIONS.run(&pool).await?;
    Ok(SqlStore::new(pool, "postgres", false, "BEGIN", vault))
}
