//! compose.yaml, checked with `docker-compose config` (no container engine
//! or registry is reachable here): rendered with a filled env file, read as
//! JSON, and held to what production needs — the staff side only behind
//! TLS, triage configured, one database role per side, the pepper readable
//! by uid 10001, health checks — and the build context kept clean.

use super::{deploy_dir, run, text};

use std::path::Path;

use serde_json::Value;

/// An env file as an operator fills it in (distinct values, so each can be
/// traced into the rendered file).
const FILLED_ENV: &str = "\
POSTGRES_PASSWORD=superuser0secret
SUNLIGHT_DB_PASSWORD=owner0secret
SUNLIGHT_INTAKE_DB_PASSWORD=intake0secret
SUNLIGHT_DOMAIN=report.example.test
SUNLIGHT_STAFF_DOMAIN=staff.example.test
SUNLIGHT_STAFF_BIND=10.20.30.40
SUNLIGHT_STAFF_PORT=8443
SUNLIGHT_MAIL_FROM=Sunlight <sunlight@example.test>
";

fn compose_args<'a>(env_file: &'a str, compose: &'a str) -> Vec<&'a str> {
    vec!["--env-file", env_file, "-f", compose]
}

/// `docker-compose config` of `compose` with `env_file`, as JSON (through
/// Debian's python3-yaml, which docker-compose itself needs).
fn rendered(env_file: &Path, compose: &Path) -> Value {
    let args = compose_args(env_file.to_str().unwrap(), compose.to_str().unwrap());
    let out = run(
        "docker-compose",
        "docker-compose",
        &[&args[..], &["config"]].concat(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("rendered.yaml");
    std::fs::write(&yaml, &out.stdout).unwrap();
    let json = run(
        "/usr/bin/python3",
        "python3-yaml",
        &[
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)",
            yaml.to_str().unwrap(),
        ],
        &[],
    );
    assert!(json.status.success(), "{}", text(&json));
    serde_json::from_slice(&json.stdout).unwrap()
}

/// A list or a map (of networks, say) as its entries' names or texts.
fn names(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A published port as `HOST_IP:PUBLISHED:TARGET` (short syntax, or the
/// long one of compose v2).
fn port(v: &Value) -> String {
    let plain = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match v.as_str() {
        Some(short) => short.trim_end_matches("/tcp").to_owned(),
        None => format!(
            "{}:{}:{}",
            plain(&v["host_ip"]),
            plain(&v["published"]),
            plain(&v["target"])
        ),
    }
}

/// A service's mounts as `SOURCE:TARGET…` (short syntax, or the long one).
fn volumes(service: &Value) -> Vec<String> {
    let volume = |v: &Value| {
        v.as_str().map_or_else(
            || {
                format!(
                    "{}:{}",
                    v["source"].as_str().unwrap_or_default(),
                    v["target"].as_str().unwrap_or_default()
                )
            },
            str::to_owned,
        )
    };
    service["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(volume)
        .collect()
}

fn env<'a>(service: &'a Value, key: &str) -> &'a str {
    service["environment"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {service}"))
}

fn after_completion(service: &Value, other: &str) -> bool {
    service["depends_on"][other]["condition"].as_str() == Some("service_completed_successfully")
}

#[test]
fn compose_file_is_valid_and_keeps_triage_and_the_database_private() {
    let compose = deploy_dir().join("compose.yaml");
    // The shipped example is valid as it stands.
    let example = deploy_dir().join("env.example");
    let args = compose_args(example.to_str().unwrap(), compose.to_str().unwrap());
    let check = run(
        "docker-compose",
        "docker-compose",
        &[&args[..], &["config", "-q"]].concat(),
        &[],
    );
    assert!(check.status.success(), "{}", text(&check));

    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("filled.env");
    std::fs::write(&env_file, FILLED_ENV).unwrap();
    let config = rendered(&env_file, &compose);
    let services = &config["services"];
    let sunlight = [
        "setup", "init", "migrate", "intake-1", "intake-2", "triage", "backup",
    ];
    for name in sunlight
        .iter()
        .chain(&["postgres", "intake-role", "staff-proxy", "tor", "proxy"])
    {
        assert!(services[name].is_object(), "no service {name}\n{config:#}");
    }
    // Every Sunlight container: read-only root, no capabilities; all but
    // the one that sets owners run unprivileged.
    for name in sunlight {
        let s = &services[name];
        assert_eq!(s["image"], "sunlight:latest", "{name}");
        assert_eq!(s["read_only"], true, "{name}");
        assert_eq!(names(&s["cap_drop"]), ["ALL"], "{name}");
        let user = if name == "setup" {
            "0:0"
        } else {
            "10001:10001"
        };
        assert_eq!(s["user"], user, "{name}");
    }

    // Nothing publishes triage, the database or metrics; the staff side is
    // published only by the TLS proxy, only on the staff address.
    for (name, s) in services.as_object().unwrap() {
        for p in s["ports"].as_array().into_iter().flatten() {
            let p = port(p);
            for private in [":8081", ":5432", ":9464"] {
                assert!(!p.ends_with(private), "{name} publishes {p}");
            }
        }
    }
    assert!(services["triage"]["ports"].is_null(), "{config:#}");
    let staff_ports: Vec<String> = services["staff-proxy"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(port)
        .collect();
    assert_eq!(staff_ports, ["10.20.30.40:8443:8443"]);
    let staff_proxy = &services["staff-proxy"];
    assert!(
        volumes(staff_proxy)
            .iter()
            .any(|v| v.ends_with("/deploy/Caddyfile.staff:/etc/caddy/Caddyfile:ro")),
        "{staff_proxy:#}"
    );
    assert_eq!(env(staff_proxy, "SUNLIGHT_STAFF_TLS"), "internal");
    assert_eq!(env(staff_proxy, "SUNLIGHT_TRIAGE_UPSTREAM"), "triage:8081");
    // Triage and the proxy meet on a network with no route out; only the
    // proxy is on the one its port is published from.
    assert_eq!(config["networks"]["staff"]["internal"], true);
    assert_eq!(config["networks"]["backend"]["internal"], true);
    let mut proxy_networks = names(&staff_proxy["networks"]);
    proxy_networks.sort();
    assert_eq!(proxy_networks, ["staff", "staff-lan"]);
    assert!(!names(&services["triage"]["networks"]).contains(&"staff-lan".to_owned()));

    // Triage knows it is behind TLS, and how staff reach it.
    let triage = &services["triage"];
    assert_eq!(env(triage, "SUNLIGHT_TRIAGE__SECURE_COOKIES"), "true");
    assert_eq!(
        env(triage, "SUNLIGHT_MAIL__FROM"),
        "Sunlight <sunlight@example.test>"
    );
    assert_eq!(
        env(triage, "SUNLIGHT_MAIL__LINK_BASE"),
        "https://staff.example.test:8443"
    );

    // One role per side: the owner migrates (a one-shot, before anything
    // starts) and runs triage; intake connects as sunlight_intake, whose
    // grants are applied after every migration; no service migrates itself.
    for name in ["init", "migrate", "triage", "backup"] {
        let url = env(&services[name], "SUNLIGHT_DATABASE_URL");
        assert!(
            url.starts_with("postgres://sunlight:owner0secret@postgres:5432/"),
            "{name}: {url}"
        );
    }
    for name in ["intake-1", "intake-2"] {
        let url = env(&services[name], "SUNLIGHT_DATABASE_URL");
        assert!(
            url.starts_with("postgres://sunlight_intake:intake0secret@"),
            "{name}: {url}"
        );
        assert!(after_completion(&services[name], "intake-role"), "{name}");
    }
    for name in ["intake-1", "intake-2", "triage"] {
        assert_eq!(
            env(&services[name], "SUNLIGHT_MIGRATE_ON_START"),
            "false",
            "{name}"
        );
    }
    assert_eq!(names(&services["migrate"]["command"]), ["migrate"]);
    assert!(after_completion(triage, "migrate"));
    assert!(after_completion(&services["intake-role"], "migrate"));
    assert!(
        volumes(&services["intake-role"])
            .iter()
            .any(|v| v.contains("/deploy/postgres/intake-role.sql:")),
        "{:#}",
        services["intake-role"]
    );
    assert_eq!(env(&services["postgres"], "POSTGRES_USER"), "postgres");

    // Health checks without curl: the binary asks its own /healthz.
    for (name, side) in [
        ("intake-1", "intake"),
        ("intake-2", "intake"),
        ("triage", "triage"),
    ] {
        assert_eq!(
            names(&services[name]["healthcheck"]["test"]),
            ["CMD", "/usr/local/bin/sunlight", "healthcheck", side],
            "{name}"
        );
    }

    // The pepper reaches uid 10001. Compose hands a file secret over as a
    // bind mount of the host file with the host file's owner and mode (its
    // uid, gid and mode are ignored outside swarm), so the one-shot `setup`
    // (root, CHOWN/FOWNER/DAC_OVERRIDE only, no network) owns it to 10001
    // before init and before every service, and prepares the bind-mounted
    // folders init writes into.
    let setup = &services["setup"];
    let script = names(&setup["command"]).join("\n");
    for step in [
        "install -d -o 10001 -g 10001 -m 0700 /init-data /secrets",
        "chown 10001:10001 /secrets/pepper.key",
        "chmod 0400 /secrets/pepper.key",
    ] {
        assert!(script.contains(step), "setup lacks `{step}`:\n{script}");
    }
    assert_eq!(setup["network_mode"], "none");
    let mut caps = names(&setup["cap_add"]);
    caps.sort();
    assert_eq!(caps, ["CHOWN", "DAC_OVERRIDE", "FOWNER"]);
    let setup_mounts = volumes(setup);
    for folder in ["/deploy/secrets:/secrets", "/deploy/init-data:/init-data"] {
        assert!(
            setup_mounts.iter().any(|v| v.contains(folder)),
            "{setup_mounts:?}"
        );
    }
    assert!(
        config["secrets"]["pepper"]["file"]
            .as_str()
            .unwrap()
            .ends_with("/deploy/secrets/pepper.key")
    );
    for name in ["intake-1", "intake-2", "triage"] {
        let s = &services[name];
        assert!(after_completion(s, "setup"), "{name}");
        assert_eq!(s["secrets"][0]["source"], "pepper", "{name}");
        assert_eq!(
            env(s, "SUNLIGHT_PEPPER_FILE"),
            "/run/secrets/pepper.key",
            "{name}"
        );
    }
    let init = &services["init"];
    assert!(after_completion(init, "setup"));
    assert_eq!(env(init, "SUNLIGHT_PEPPER_FILE"), "/secrets/pepper.key");
    assert!(
        volumes(init)
            .iter()
            .any(|v| v.contains("/deploy/secrets:/secrets")),
        "{init:#}"
    );

    // The build context is the repository, and its .dockerignore keeps
    // secrets, data and build output out of it.
    let context = triage["build"]["context"].as_str().unwrap();
    let repo = deploy_dir().join("..").canonicalize().unwrap();
    assert_eq!(Path::new(context).canonicalize().unwrap(), repo);
    let dockerignore = std::fs::read_to_string(repo.join(".dockerignore")).unwrap();
    let entries: Vec<&str> = dockerignore.lines().map(str::trim).collect();
    for needed in [
        ".git",
        "target/",
        "sunlight-data/",
        "*.db*",
        "deploy/.env",
        "deploy/secrets/",
        "deploy/init-data/",
        "deploy/torrc",
    ] {
        assert!(entries.contains(&needed), ".dockerignore lacks {needed}");
    }
    let gitignore = std::fs::read_to_string(repo.join(".gitignore")).unwrap();
    for needed in [
        "/deploy/.env",
        "/deploy/secrets/",
        "/deploy/init-data/",
        "/deploy/torrc",
    ] {
        assert!(
            gitignore.lines().any(|l| l.trim() == needed),
            ".gitignore lacks {needed}"
        );
    }
}

/// The checker is not a rubber stamp: a misspelt key, or a required
/// variable left out of the env file, is refused.
#[test]
fn compose_config_refuses_a_misspelt_key_and_a_missing_variable() {
    let compose = deploy_dir().join("compose.yaml");
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("filled.env");
    std::fs::write(&env_file, FILLED_ENV).unwrap();
    let bad = dir.path().join("compose.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&compose)
            .unwrap()
            .replace("  read_only: true", "  readonly: true"),
    )
    .unwrap();
    let args = compose_args(env_file.to_str().unwrap(), bad.to_str().unwrap());
    let refused = run(
        "docker-compose",
        "docker-compose",
        &[&args[..], &["config", "-q"]].concat(),
        &[],
    );
    assert!(!refused.status.success());

    let partial = dir.path().join("partial.env");
    std::fs::write(
        &partial,
        FILLED_ENV.replace("SUNLIGHT_STAFF_DOMAIN=staff.example.test\n", ""),
    )
    .unwrap();
    let args = compose_args(partial.to_str().unwrap(), compose.to_str().unwrap());
    let refused = run(
        "docker-compose",
        "docker-compose",
        &[&args[..], &["config", "-q"]].concat(),
        &[],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("SUNLIGHT_STAFF_DOMAIN"),
        "{}",
        text(&refused)
    );
}
