//! Start-up and shutdown of `tollgate serve`: open the store, apply declared config, bootstrap the admin token,
//! spawn the background tasks, serve, and on SIGTERM drain in this order — connections (bounded by the grace
//! period), settlements, then the log queue — so nothing in flight is lost.

mod background;
mod probes;
pub mod router;
mod serve;

use crate::auth::admin::AdminAuth;
use crate::auth::failures::AuthFailureLimiter;
use crate::billing::LogWriter;
use crate::billing::ledger::QuotaLedger;
use crate::billing::memory_ledger::MemoryLedger;
use crate::billing::sliced_ledger::SlicedLedger;
use crate::catalog::Catalog;
use crate::config::{Declared, Settings};
use crate::state::{AppState, Inner, image_proxy_client, media_fetcher, upstream_client};
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A running gateway (used by `main` and by tests that need a real socket).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Resolves when the server has fully stopped.
    pub done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database at {}",
                crate::observe::redact::url(&settings.database_url)
            )
        })?;
    let Some(secret) = &settings.secret_key else {
        return Ok(store);
    };
    let cipher = store::secrets::SecretCipher::new(secret, &settings.secret_key_previous)
        .context("TOLLGATE_SECRET_KEY")?;
    let store = store.with_cipher(cipher);
    // Seals plaintext keys and finishes a rotation: every key ends up sealed with the current secret.
    let resealed = store
        .reseal_channel_keys()
        .await
        .context("sealing upstream channel keys")?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            "upstream channel keys sealed with the current secret key"
        );
    }
    Ok(store)
}

/// Starts serving on `settings.listen` until `shutdown` resolves.
pub async fn start(
    settings: Settings,
    declared: Declared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let store = open_store(&settings).await?;
    declared
        .apply(&store)
        .await
        .context("applying the channels/users/keys/prices of the config file")?;
    // A previous process that died mid-request left its holds behind; nothing else can be in flight on one
    // instance at start-up.
    let released = store.release_stale_reservations(chrono::Utc::now()).await?;
    if released > 0 {
        tracing::warn!(released, "released reservations left by an earlier process");
    }
    let (admin, generated) = AdminAuth::bootstrap_keyed(
        &store,
        settings.admin_token.as_deref(),
        settings.secret_key.as_deref(),
        &settings.secret_key_previous,
    )
    .await?;
    if let Some(token) = generated {
        #[expect(
            clippy::print_stderr,
            reason = "the generated admin token is shown exactly once, on the console"
        )]
        {
            eprintln!(
                "\nNo admin token was configured, so one was generated. It is shown only this once:\n\n    {token}\n\nUse it as `Authorization: Bearer <token>` on /api/admin. It is stored hashed.\n"
            );
        }
    }
    let catalog = Catalog::load(&store).await?;
    // Instances on the same database share one namespace in Redis; other deployments on that Redis do not collide.
    let namespace = match store.get_setting("deployment_id").await? {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            store.set_setting("deployment_id", &id).await?;
            id
        }
    };
    let shared = Arc::new(
        cache::Shared::connect(settings.redis_url.as_deref(), &namespace)
            .await
            .context("connecting to Redis")?,
    );
    let mj_signer =
        crate::auth::image_links::ImageSigner::bootstrap(&store, settings.secret_key.as_deref())
            .await?;
    let sessions =
        crate::auth::session::SessionKeys::bootstrap(&store, settings.secret_key.as_deref())
            .await?;
    let instance_id = format!("instance-{}", uuid::Uuid::new_v4().simple());
    let ledger = ledger(&store, &shared, &instance_id);
    let metrics = Arc::new(crate::observe::metrics::Metrics::new());
    let (logs, writer) = LogWriter::new(store.clone(), ledger.clone(), metrics.clone());
    let upstream = upstream_client(&settings)
        .map_err(anyhow::Error::msg)
        .context("building the upstream HTTP client")?;
    let http = image_proxy_client(&settings).context("building the image proxy's HTTP client")?;
    let media = media_fetcher(&settings).context("building the image download client")?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let tasks = TaskTracker::new();
    let books = Arc::new(crate::billing::settle::Books {
        logs: logs.clone(),
        tasks: tasks.clone(),
        shared: shared.clone(),
        metrics: metrics.clone(),
    });
    let state = AppState::new(Inner {
        auth_failures: AuthFailureLimiter::new(settings.auth_failure_limit),
        logins: crate::auth::login_throttle::LoginGuards::start()
            .context("starting the password workers")?,
        settings,
        store,
        catalog,
        upstream,
        http,
        media,
        mj_signer,
        sessions,
        logs,
        metrics,
        ledger,
        tasks,
        books,
        admin,
        shared,
        instance_id,
        closing: CancellationToken::new(),
    });

    let (stop_background, stop_writer) = (CancellationToken::new(), CancellationToken::new());
    let writer_task = tokio::spawn(writer.run(stop_writer.clone()));
    let background = background::spawn(&state, &stop_background);

    let app = router::build_app(state.clone());
    let st = state.clone();
    let done = tokio::spawn(async move {
        tracing::info!(%addr, "tollgate is serving");
        let header_timeout = st.settings.client_header_timeout;
        let grace = st.settings.shutdown_grace;
        let drained = serve::serve(listener, app, header_timeout, grace, shutdown).await;
        if !drained {
            tracing::warn!("shutdown grace period over; closing the remaining connections");
        }
        st.closing.cancel();
        stop_background.cancel();
        background.close();
        background.wait().await;
        st.tasks.close();
        st.tasks.wait().await;
        stop_writer.cancel();
        writer_task.await.context("log writer task")?;
        if let QuotaLedger::Sliced(ledger) = &*st.ledger {
            ledger.close().await;
        }
        st.store.close().await;
        tracing::info!("tollgate stopped cleanly");
        Ok(())
    });
    Ok(Running { addr, state, done })
}

/// Alone on the database (no Redis, hence no other instance), money is held in memory against the whole account;
/// otherwise against the budget slices this instance claims from the database.
fn ledger(store: &Store, shared: &Arc<cache::Shared>, instance_id: &str) -> Arc<QuotaLedger> {
    Arc::new(if shared.is_redis() {
        QuotaLedger::Sliced(Arc::new(SlicedLedger::new(
            store.clone(),
            shared.clone(),
            instance_id.to_owned(),
        )))
    } else {
        QuotaLedger::Memory(MemoryLedger::new(store.clone()))
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}
