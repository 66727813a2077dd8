//! Everything a project has in network peering: its containers of every cloud provider, its
//! peering connections with AWS, GCP and Azure, and whether it is in the deprecated
//! Connect-via-Peering-Only mode. Read-only.
//!
//! ```sh
//! cargo run -p atlas-network-peering --example list_everything
//! ```
//!
//! With `MONGODB_ATLAS_*` credentials and `MONGODB_ATLAS_GROUP_ID` in the environment it reads
//! that project on Atlas. Otherwise it starts the local Atlas of `sim/`, gives its project a
//! few containers and peering connections, and lists them in pages of two.
//!
//! The listing goes through the pagination streams of `atlas_network_peering::pagination`: each yields one
//! entry at a time and asks for the next page only when the current one is used up.

mod support;

use std::process::ExitCode;

use atlas_network_peering::models::{Container, Peer, PeerStatus};
use atlas_network_peering::pagination::{ClientPaginationExt, MAX_ITEMS_PER_PAGE, Paging};
use atlas_network_peering::types::{
    AwsContainer, AwsPeer, AwsRegion, AzureContainer, AzurePeer, AzureRegion, CloudProvider,
    GcpContainer, GcpPeer,
};
use futures_util::StreamExt;
use support::{BoxError, Session};

#[tokio::main]
async fn main() -> ExitCode {
    let result = async {
        let session = support::connect().await?;
        if session.is_local() {
            fill(&session).await?;
        }
        list_everything(&session).await?;
        session.finish();
        Ok::<_, BoxError>(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn list_everything(session: &Session) -> Result<(), BoxError> {
    let client = &session.client;
    let project = session.group_id.as_str();

    // Against Atlas, the largest pages (fewest requests); locally, pages of two, which shows
    // the stream walking several pages.
    let per_page = if session.is_local() {
        2
    } else {
        MAX_ITEMS_PER_PAGE
    };

    println!("Peering containers, all providers:");
    let mut containers = client.all_containers(project, Paging::new().items_per_page(per_page));
    let mut count = 0;
    while let Some(container) = containers.next().await {
        println!("  {}", describe_container(&container?));
        count += 1;
    }
    println!("  ({count} in all)");

    // Atlas lists peering connections one provider at a time.
    for provider in [CloudProvider::Aws, CloudProvider::Gcp, CloudProvider::Azure] {
        println!("\nPeering connections with {provider}:");
        let paging = Paging::new()
            .items_per_page(MAX_ITEMS_PER_PAGE)
            .provider(provider);
        let mut peers = client.peers(project, paging);
        let mut count = 0;
        while let Some(peer) = peers.next().await {
            println!("  {}", describe_peer(&peer?));
            count += 1;
        }
        println!("  ({count} in all)");
    }

    let mode = client
        .get_private_ip_mode()
        .group_id(project)
        .send()
        .await?;
    println!(
        "\nConnect-via-Peering-Only mode (deprecated): {}",
        if mode.enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

/// Gives the local Atlas's project something to list: a container of each provider (two in
/// AWS) and a peering connection in each.
async fn fill(session: &Session) -> Result<(), BoxError> {
    let (client, project) = (&session.client, session.group_id.as_str());
    let create = |body: Container| {
        client
            .create_container()
            .group_id(project)
            .body(body)
            .send()
    };
    let aws = create(AwsContainer::new("10.8.0.0/21", AwsRegion::UsEast1).into()).await?;
    create(AwsContainer::new("10.8.8.0/21", AwsRegion::EuWest1).into()).await?;
    let gcp = create(GcpContainer::new("10.64.0.0/18").into()).await?;
    let azure =
        create(AzureContainer::new("192.168.208.0/21", AzureRegion::SwedenCentral).into()).await?;
    let id = |c: &Container| c.id().unwrap_or_default().to_owned();
    for peer in [
        Peer::from(AwsPeer::new(
            &id(&aws),
            "730418265093",
            "vpc-0b7d19e4c2a86f351",
            "172.20.0.0/16",
            None,
        )?),
        Peer::from(GcpPeer::new(
            &id(&gcp),
            "orbital-ledger-204817",
            "shared-services",
        )?),
        Peer::from(AzurePeer::new(
            &id(&azure),
            "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048",
            "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
            "rg-payments",
            "vnet-payments",
        )?),
    ] {
        client
            .create_peer()
            .group_id(project)
            .body(peer)
            .send()
            .await?;
    }
    Ok(())
}

/// One line per container: provider, id, Atlas-side address block, where, whether in use.
fn describe_container(container: &Container) -> String {
    let place = match container {
        Container::Aws(aws) => format!("region {}", aws.region_name),
        Container::Azure(azure) => format!("region {}", azure.region),
        Container::Gcp(gcp) => match &gcp.regions {
            Some(regions) if !regions.is_empty() => {
                let names: Vec<String> = regions.iter().map(ToString::to_string).collect();
                format!("regions {}", names.join(", "))
            }
            _ => "every region".to_owned(),
        },
        // A provider this version of the sdk does not model (TENANT, SERVERLESS, ...): its
        // JSON is kept as sent, and the accessors still work.
        Container::Unknown(unknown) => format!("not modelled; fields {:?}", unknown.raw().keys()),
        // `Container` is non-exhaustive: a later version may model more providers.
        _ => "not modelled".to_owned(),
    };
    format!(
        "{:<5} {}  {:<15}  {}{}",
        container.provider_name().unwrap_or("?"),
        container.id().unwrap_or("(no id)"),
        container.atlas_cidr_block().unwrap_or("-"),
        place,
        if container.is_provisioned() {
            ", clusters deployed"
        } else {
            ", no cluster yet"
        },
    )
}

/// One line per peering connection: id, normalized status, the customer's side, and why it
/// failed when it did.
fn describe_peer(peer: &Peer) -> String {
    let other_side = match peer {
        Peer::Aws(aws) => format!(
            "VPC {} of AWS account {} in {}, route table {}",
            aws.vpc_id,
            aws.aws_account_id.as_str(),
            // Null when the VPC is in the container's own region.
            aws.accepter_region_name
                .as_deref()
                .unwrap_or("the container's region"),
            aws.route_table_cidr_block,
        ),
        Peer::Gcp(gcp) => format!(
            "network {} of GCP project {}",
            gcp.network_name, gcp.gcp_project_id
        ),
        Peer::Azure(azure) => format!(
            "virtual network {} in resource group {}",
            azure.vnet_name, azure.resource_group_name
        ),
        Peer::Unknown(unknown) => format!("not modelled; fields {:?}", unknown.raw().keys()),
        _ => "not modelled".to_owned(),
    };
    let status = peer.raw_status().unwrap_or("(no status)");
    let mut line = format!(
        "{}  {:<16}  container {} <-> {}",
        peer.id().unwrap_or("(no id)"),
        status,
        peer.container_id().unwrap_or("?"),
        other_side,
    );
    if let Some(detail) = peer.error_detail() {
        line += &format!("\n    failed: {detail}");
    }
    if peer.status() == Some(PeerStatus::WaitingForUser) {
        line += "\n    waiting for the customer to accept the peering on their side";
    }
    line
}

#[cfg(test)]
mod tests {
    /// The example, run against the local Atlas whatever the environment holds.
    #[tokio::test]
    async fn runs_against_the_local_atlas() {
        let session = super::support::local("test").await.unwrap();
        super::fill(&session).await.unwrap();
        super::list_everything(&session).await.unwrap();
        // The Digest challenge and seven creates; then the four containers in two pages of
        // two, one page of peers per provider, and the mode.
        assert_eq!(session.sim.as_ref().unwrap().requests(), 8 + 2 + 3 + 1);
    }
}
