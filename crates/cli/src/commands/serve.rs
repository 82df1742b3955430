//! `sunlight serve`: the two apps, their workers and the metrics listener in one process, until a signal.

use super::*;

pub(super) async fn serve(config: &Config, intake: bool, triage: bool) -> CmdResult {
    let store = open(config).await?;
    if !is_initialized(&store).await? {
        if intake && triage {
            say("Empty data folder: initialising (as `sunlight init`).");
            init(config, "province", "省委组织部", "admin@example.org").await?;
        } else {
            return Err("the deployment is not initialised; run `sunlight init` first".into());
        }
    }
    let (policy, calendar) = config.deadline_rules().map_err(|e| e.to_string())?;
    super::ops::calendars_at_start(config, &store, &policy, &calendar, triage, Utc::now()).await?;
    tracing::info!(policy = policy.name(), "deadline policy loaded");
    // Fails early when the pepper is missing, before any port opens.
    let stretcher = crate::secrets::stretcher(&config.pepper_file, &store)
        .await
        .map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let bind = |addr: std::net::SocketAddr, name: &str| -> Result<TcpListener, String> {
        let l = TcpListener::bind(addr)
            .map_err(|e| format!("cannot listen on {addr} for {name}: {e}"))?;
        tracing::info!(%addr, side = name, "listening");
        Ok(l)
    };
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ignored = rx.wait_for(|stop| *stop).await;
    };
    let metrics = sunlight_metrics::Metrics::new();
    if let Some(addr) = config.metrics_addr {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "metrics listener is not on loopback: keep it off public networks");
        }
        // Database gauges where triage runs: once per deployment shape,
        // not once per intake replica.
        let server = metrics
            .clone()
            .serve(triage.then(|| store.clone()), bind(addr, "metrics")?)
            .map_err(|e| format!("cannot start the metrics listener: {e}"))?;
        let handle = server.handle();
        let stop = stopped(stop_rx.clone());
        tasks.spawn(async move {
            tokio::select! {
                res = server => res,
                () = stop => {
                    handle.stop(true).await;
                    Ok(())
                }
            }
        });
    }
    let onion = config.onion_location();
    if intake {
        let parts = sunlight_intake::IntakeParts {
            store: store.clone(),
            stretcher: stretcher.clone(),
            policy: policy.clone(),
            calendar: calendar.clone(),
            settings: sunlight_intake::IntakeSettings {
                onion_location: onion.clone(),
                ..config.intake.clone()
            },
            spool_dir: config.data_dir.join("spool"),
            metrics: metrics.clone(),
        };
        let app = sunlight_intake::Application::build(parts, bind(config.intake_addr, "intake")?)
            .map_err(|e| format!("cannot start intake: {e}"))?;
        tasks.spawn(app.run_until_stopped(stopped(stop_rx.clone())));
    }
    if triage {
        let parts = sunlight_triage::TriageParts {
            store: store.clone(),
            stretcher: stretcher.clone(),
            policy: policy.clone(),
            calendar: calendar.clone(),
            settings: config.triage.clone(),
            mail: config.mail_style(),
            stats: config.stats.clone(),
            onion: onion.clone(),
            metrics: metrics.clone(),
            spool_dir: config.data_dir.join("spool"),
        };
        let app = sunlight_triage::Application::build(parts, bind(config.triage_addr, "triage")?)
            .map_err(|e| format!("cannot start triage: {e}"))?;
        tasks.spawn(app.run_until_stopped(stopped(stop_rx.clone())));
        // Mail goes out where the sweeper runs; never from intake.
        let transport = sunlight_notify::Transport::new(
            config.smtp_url.as_deref(),
            &config.data_dir.join("mail"),
        )
        .map_err(|e| e.to_string())?;
        let delivery =
            sunlight_notify::Delivery::new(store.clone(), transport, config.mail.clone())
                .map_err(|e| e.to_string())?;
        let stop = stopped(stop_rx.clone());
        tasks.spawn(async move {
            delivery.run(stop).await;
            Ok(())
        });
    }
    super::ops::ready();
    // A part that ends before the signal (a server error, a panic in a
    // worker) stops the whole process with an error, so the supervisor
    // restarts it instead of leaving half a service up.
    let early = tokio::select! {
        () = shutdown_signal() => None,
        Some(done) = tasks.join_next() => Some(done),
    };
    tracing::info!("shutting down");
    let _ignored = stop_tx.send(true);
    let mut outcome = match early {
        None => Ok(()),
        Some(Ok(Ok(()))) => Err("a server stopped by itself".to_owned()),
        Some(done) => task_outcome(done),
    };
    while let Some(done) = tasks.join_next().await {
        outcome = outcome.and(task_outcome(done));
    }
    outcome.map(|()| ExitCode::SUCCESS)
}

fn task_outcome(done: Result<std::io::Result<()>, tokio::task::JoinError>) -> Result<(), String> {
    match done {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("server error: {e}")),
        Err(e) => Err(format!("server task failed: {e}")),
    }
}

pub(super) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ignored = tokio::signal::ctrl_c().await;
}
