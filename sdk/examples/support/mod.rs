//! What the examples share: Atlas when the environment has credentials and a project, else the
//! local Atlas of `sim/` (the `atlas-network-peering-sim` crate), started on 127.0.0.1.
//!
//! Not an example of its own (cargo only builds `examples/*.rs` and `examples/*/main.rs`);
//! each example includes it with `mod support;`.

// Each example uses only part of this module.
#![allow(dead_code)]

use atlas_network_peering_sim::Simulator;

/// The error type of the examples' own functions.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The variable the examples read the project id from (the sdk itself takes it per call).
pub const GROUP_ID_VAR: &str = "MONGODB_ATLAS_GROUP_ID";

/// A client, the project to work on, and the local Atlas when there is one.
pub struct Session {
    /// The client, for Atlas or for the local one.
    pub client: atlas_network_peering::Client,
    /// The project (Atlas calls it a group).
    pub group_id: String,
    /// The base URL the client talks to.
    pub base_url: String,
    /// The local Atlas; `None` against Atlas. Kept here so that it lives as long as the client.
    pub sim: Option<Simulator>,
}

impl Session {
    /// Whether the client talks to the local Atlas.
    pub fn is_local(&self) -> bool {
        self.sim.is_some()
    }

    /// The closing line every example prints, so that nobody mistakes a local run for a real one.
    pub fn finish(&self) {
        if self.is_local() {
            println!(
                "\nRan against the local Atlas (atlas-network-peering-sim) at {}; nothing left this \
                 machine.\nSet MONGODB_ATLAS_* credentials and {GROUP_ID_VAR} to run against Atlas.",
                self.base_url
            );
        } else {
            println!("\nRan against Atlas at {}.", self.base_url);
        }
    }
}

/// Atlas when the environment has credentials and `MONGODB_ATLAS_GROUP_ID`, else the local Atlas.
pub async fn connect() -> Result<Session, BoxError> {
    match atlas_from_env() {
        Ok(session) => Ok(session),
        Err(why) => local(&why).await,
    }
}

/// Atlas, when the environment has credentials (`Config::from_env` succeeds) and
/// `MONGODB_ATLAS_GROUP_ID`; otherwise the reason why not.
pub fn atlas_from_env() -> Result<Session, String> {
    let config = match atlas_network_peering::Config::from_env() {
        Ok(config) => config,
        Err(atlas_network_peering::config::ConfigError::MissingCredentials { .. }) => {
            return Err("no MONGODB_ATLAS_* credentials in the environment".to_owned());
        }
        Err(e) => {
            return Err(format!(
                "the Atlas settings in the environment are unusable: {e}"
            ));
        }
    };
    let group_id = std::env::var(GROUP_ID_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("credentials are set but {GROUP_ID_VAR} is not"))?;
    let base_url = config.base_url().to_owned();
    let client = atlas_network_peering::Client::from_config(config).map_err(|e| e.to_string())?;
    println!("Running against Atlas at {base_url}, project {group_id}.\n");
    Ok(Session {
        client,
        group_id,
        base_url,
        sim: None,
    })
}

/// The local Atlas, with its API key. Its clock runs a minute per second of tokio's clock, so
/// that a peering moves on in seconds; a pending peering waits for the example to accept it
/// (`sim.accept_peer`), as the customer would in their cloud.
pub async fn local(why: &str) -> Result<Session, BoxError> {
    let sim = Simulator::builder().time_scale(60.0).start().await?;
    let config = atlas_network_peering::Config::new()
        .with_base_url(sim.base_url())?
        .with_api_key(sim.public_key(), sim.private_key());
    let client = atlas_network_peering::Client::from_config(config)?;
    println!(
        "Running against the local Atlas at {} ({why}).\n",
        sim.base_url()
    );
    Ok(Session {
        client,
        group_id: sim.project_id().to_owned(),
        base_url: sim.base_url().to_owned(),
        sim: Some(sim),
    })
}
