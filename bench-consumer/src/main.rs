//! Lists a project's peering connections with credentials from the environment. Built, never
//! run, by the build-cost measurement in docs/PERFORMANCE.md.

#[tokio::main]
async fn main() -> Result<(), atlas_network_peering::Error> {
    let group_id = std::env::var("ATLAS_GROUP_ID").unwrap_or_default();
    let client = atlas_network_peering::Client::from_env()?;
    let page = client
        .list_peers()
        .group_id(group_id.as_str())
        .send()
        .await?;
    for peer in &page.results {
        println!("{:?} {:?}", peer.id(), peer.status());
    }
    Ok(())
}
