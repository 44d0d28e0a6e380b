//! Upgrading a database the previous release wrote: `tests/fixtures/wave1.*.sql` are dumps of a server
//! from before operators (schema 0001-0014) after a day of traffic (`tests/fixtures/make-wave1` made
//! them). Opening one migrates it; everything it held is still there and belongs to the `default`
//! operator. On SQLite and PostgreSQL.

use std::sync::Arc;

use parkline_domain::plate::Plate;
use parkline_store::testing::{Backend, TestDb};
use parkline_store::{DEFAULT_OPERATOR, OperatorRecord, Store, Vault};

/// The plate keys the fixtures were sealed with.
fn fixture_vault() -> Arc<Vault> {
    let text = include_str!("fixtures/wave1.plate.keys");
    let mut lines = text.lines();
    let (keys, index) = (lines.next().unwrap(), lines.next().unwrap());
    Arc::new(Vault::from_settings(keys, index).unwrap())
}

async fn upgraded(backend: Backend) -> Option<(TestDb, Arc<dyn Store>)> {
    let db = TestDb::new(backend).await?;
    db.load_script(match backend {
        Backend::Sqlite => include_str!("fixtures/wave1.sqlite.sql"),
        Backend::Postgres => include_str!("fixtures/wave1.postgres.sql"),
    })
    .await;
    let store = parkline_store::open(&db.url, fixture_vault()).await.expect("the old database migrates");
    Some((db, store))
}

async fn a_wave1_database_migrates_and_keeps_everything(backend: Backend) {
    let Some((db, store)) = upgraded(backend).await else { return };
    assert_eq!(
        store.operators().await.unwrap(),
        [OperatorRecord { id: DEFAULT_OPERATOR.into(), name: "Default operator".into() }]
    );
    let facilities = store.load_facilities().await.unwrap();
    assert_eq!(facilities.len(), 5, "the demo city");
    assert!(facilities.iter().all(|f| f.operator == DEFAULT_OPERATOR));
    assert!(facilities.iter().all(|f| !f.spots.is_empty()));

    // Staff join the default operator; drivers and admins belong to none.
    for (email, operator) in [
        ("attendant@demo.parkline", Some(DEFAULT_OPERATOR)),
        ("manager@demo.parkline", Some(DEFAULT_OPERATOR)),
        ("driver@demo.parkline", None),
        ("admin@demo.parkline", None),
    ] {
        let user = store.user_by_email(email).await.unwrap().unwrap_or_else(|| panic!("{email} is kept"));
        assert_eq!(user.operator.as_deref(), operator, "{email}");
        assert!(user.facilities.is_empty(), "{email}: not limited to some facilities");
    }

    // The vehicle inside is still inside, its plate readable with the old keys; the stay that left
    // is complete with its payment.
    let inside = store.active_sessions().await.unwrap();
    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].plate, Some(Plate::parse("FIX002").unwrap()));
    let gone =
        store.find_sessions(None, Some("LFIX001"), 5).await.unwrap().pop().expect("the paid stay is kept");
    assert!(gone.exit.is_some() && gone.paid_minor > 0, "{gone:?}");
    assert_eq!(store.claiming_reservations().await.unwrap().len(), 1);
    assert_eq!(store.permits().await.unwrap().len(), 1);

    // Money and its audit chain are untouched.
    let report = parkline_store::audit::verify(store.as_ref()).await.unwrap();
    assert!(report.ok() && report.ledger_entries == 3, "{report:?}");
    drop(store);
    db.cleanup().await;
}

/// Runs each named `async fn(Backend)` as two tests, `sqlite::name` and `postgres::name`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await } )* }
    };
}

both_backends!(a_wave1_database_migrates_and_keeps_everything);
