//! PostgreSQL: for several server instances sharing one database. Each commit appends what it changed
//! to the change feed (`feed`), which the other instances follow.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::error::Result;
use crate::sql::SqlStore;

static MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

pub(crate) async fn open(url: &str, vault: std::sync::Arc<crate::Vault>) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    // A few connections stay open: a burst of requests, or a moment when the database takes no new
    // connections (a failover, a connection limit reached), is served without waiting to connect.
    let pool = AnyPoolOptions::new().min_connections(4).max_connections(16).connect(url).await?;
    // Migrations take an advisory lock, so instances starting together migrate once.
    MIGRATIONS.run(&pool).await?;
    Ok(SqlStore::new(pool, "postgres", false, "BEGIN", Some(url.to_owned()), vault))
}
