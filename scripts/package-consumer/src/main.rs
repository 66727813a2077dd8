//! A consumer of the packaged crates, built by scripts/package-check.sh the way another team's
//! crate builds them from a registry: it starts the local Atlas in-process, points a client at
//! it and makes calls through the public API.

use atlas_network_peering::types::{AwsContainer, AwsRegion, CloudProvider};
use atlas_network_peering::{Client, Config};
use atlas_network_peering_sim::Simulator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start().await?;
    let client = Client::from_config(
        Config::new()
            .with_base_url(sim.base_url())?
            .with_api_key(sim.public_key(), sim.private_key()),
    )?;
    let project = sim.project_id();

    let created = client
        .create_container()
        .group_id(project)
        .body(AwsContainer::new("10.8.0.0/21", AwsRegion::UsEast1))
        .send()
        .await?;
    let page = client
        .list_containers()
        .group_id(project)
        .provider_name(CloudProvider::Aws)
        .send()
        .await?;
    let listed: Vec<_> = page.results.iter().filter_map(|c| c.id()).collect();
    if listed != [created.id().ok_or("the created container has no id")?] {
        return Err(format!("expected the created container alone, listed {listed:?}").into());
    }
    println!(
        "package-consumer: created and listed container {} on the local Atlas at {} ({} requests)",
        listed[0],
        sim.base_url(),
        sim.requests()
    );
    Ok(())
}
