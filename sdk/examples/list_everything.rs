//! Everything a project has in network peering: its containers of every cloud provider, its
//! peering connections with AWS, GCP and Azure, and whether it is in the deprecated
//! Connect-via-Peering-Only mode. Read-only.
//!
//! ```sh
//! cargo run -p atlas-network-peering --example list_everything
//! ```
//!
//! With `MONGODB_ATLAS_*` credentials and `MONGODB_ATLAS_GROUP_ID` in the environment it reads
//! that project on Atlas. Otherwise it starts a local mock that answers with the recorded
//! exchanges of `fixtures/`, where the containers come in three pages of two.
//!
//! The listing goes through the pagination streams of `atlas_network_peering::pagination`: each yields one
//! entry at a time and asks for the next page only when the current one is used up.

mod support;

use std::process::ExitCode;

use atlas_network_peering::models::{Container, Peer, PeerStatus};
use atlas_network_peering::pagination::{ClientPaginationExt, MAX_ITEMS_PER_PAGE, Paging};
use atlas_network_peering::types::CloudProvider;
use futures_util::StreamExt;
use support::{BoxError, Session};

/// What the local mock answers with.
const RECORDED: &[&str] = &[
    "list_all_containers/page1_of_3_200",
    "list_all_containers/page2_of_3_200",
    "list_all_containers/page3_of_3_200",
    "list_peers/aws_200",
    "list_peers/gcp_200",
    "list_peers/azure_200",
    "get_private_ip_mode/enabled_200",
];

#[tokio::main]
async fn main() -> ExitCode {
    let result = async {
        let session = support::connect(RECORDED).await?;
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

    // Against Atlas, the largest pages (fewest requests). The recorded listing of containers
    // was made with pages of two, which shows the stream walking three pages.
    let per_page = if session.is_mock() {
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
    let status = peer
        .status()
        .map_or_else(|| "(no status)".to_owned(), |s| s.to_string());
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
    /// The example, run against the recorded exchanges whatever the environment holds.
    #[tokio::test]
    async fn runs_against_the_recorded_exchanges() {
        let session = super::support::local(super::RECORDED, "test")
            .await
            .expect("the local mock starts");
        super::list_everything(&session)
            .await
            .expect("the example succeeds");
    }
}
