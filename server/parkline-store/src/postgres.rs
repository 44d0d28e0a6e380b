//! PostgreSQL: for several server instances sharing one database. Each commit appends what it changed
//! to the change feed (`feed`), which the other instances follow.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::error::Result;
use crate::sql::SqlStore;

static MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

pub(crate) async fn open(url: &str, vault: std::sync::Arc<crate::Vault>) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new().max_connections(16).connect(url).await?;
    // Migrations take an advisory lock, so instances starting together migrate once.
    MIGRATIONS.run(&pool).await?;
    Ok(SqlStore::new(pool, "postgres", false, "BEGIN", Some(url.to_owned()), vault))
}
