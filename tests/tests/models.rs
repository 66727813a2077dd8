//! Containers and peering connections of every provider decode from and encode back to the same
//! JSON, nulls included; an entry of an unknown provider keeps its JSON and fails nothing.

use atlas_network_peering::models::{Container, Peer};
use atlas_network_peering::types::{AwsPeerStatus, ContainerPage, GcpRegion};
use serde_json::{Value, json};

/// Decodes `value` as `T`, encodes it again, and asserts nothing changed.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: Value) -> T {
    let decoded: T =
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value}"));
    assert_eq!(serde_json::to_value(&decoded).unwrap(), value);
    decoded
}

#[test]
fn aws_container_round_trips() {
    let c: Container = round_trip(json!({
        "id": "5e8a3b1c9d2f4a6b7c8d9e0f", "providerName": "AWS", "provisioned": true,
        "atlasCidrBlock": "10.12.8.0/21", "regionName": "AP_SOUTHEAST_2", "vpcId": "vpc-4b1e8d2c7a9f03e65"
    }));
    let Container::Aws(aws) = c else {
        panic!("not AWS: {c:?}")
    };
    assert_eq!(aws.region_name.as_str(), "AP_SOUTHEAST_2");
}

#[test]
fn aws_container_without_provider_name_is_aws() {
    let c: Container = round_trip(json!({
        "id": "5e8a3b1c9d2f4a6b7c8d9e0f", "provisioned": false,
        "atlasCidrBlock": "10.12.8.0/21", "regionName": "US_EAST_2", "vpcId": "vpc-4b1e8d2c7a9f03e65"
    }));
    assert!(matches!(c, Container::Aws(_)));
}

#[test]
fn gcp_container_round_trips_with_nulls() {
    let c: Container = round_trip(json!({
        "id": "5e8a3b1c9d2f4a6b7c8d9e10", "providerName": "GCP", "provisioned": false,
        "atlasCidrBlock": "10.128.0.0/22", "regions": ["US_EAST_4", "NORTH_AMERICA_NORTHEAST_2"],
        "gcpProjectId": null, "networkName": null
    }));
    let Container::Gcp(gcp) = c else {
        panic!("not GCP: {c:?}")
    };
    assert_eq!(
        gcp.gcp_project_id,
        Some(None),
        "null is kept apart from absent"
    );
    assert_eq!(
        gcp.regions,
        Some(vec![GcpRegion::UsEast4, GcpRegion::NorthAmericaNortheast2])
    );
}

#[test]
fn gcp_container_with_values_and_absent_fields_round_trips() {
    let c: Container = round_trip(json!({
        "providerName": "GCP", "atlasCidrBlock": "10.128.0.0/18",
        "gcpProjectId": "p-9v2kq7m3x8d1c5b0n4a6z7w2", "networkName": "nt-5e8a3b1c9d2f4a6b7c8d9e10-k3j7h2g9"
    }));
    let Container::Gcp(gcp) = c else { panic!() };
    assert_eq!(
        gcp.gcp_project_id,
        Some(Some("p-9v2kq7m3x8d1c5b0n4a6z7w2".into()))
    );
    assert_eq!(gcp.id, None);
}

#[test]
fn azure_container_round_trips_with_null_vnet() {
    let c: Container = round_trip(json!({
        "id": "5e8a3b1c9d2f4a6b7c8d9e11", "providerName": "AZURE", "provisioned": false,
        "atlasCidrBlock": "172.20.64.0/22", "region": "SWEDEN_CENTRAL",
        "azureSubscriptionId": "7c41e0d2-3b9a-4f65-8e17-a2d9c6b4f031", "vnetName": null
    }));
    assert!(matches!(c, Container::Azure(_)));
}

#[test]
fn aws_peer_round_trips_with_nulls() {
    let p: Peer = round_trip(json!({
        "id": "5f9b4c2d0e3a5b7c8d9e0f1a", "providerName": "AWS", "containerId": "5e8a3b1c9d2f4a6b7c8d9e0f",
        "accepterRegionName": null, "awsAccountId": "730145926318", "vpcId": "vpc-0f2e4d6c8b0a1c3e5",
        "routeTableCidrBlock": "10.200.0.0/16", "connectionId": null, "statusName": "PENDING_ACCEPTANCE",
        "errorStateName": null
    }));
    let Peer::Aws(aws) = p else {
        panic!("not AWS: {p:?}")
    };
    assert_eq!(aws.status_name, Some(AwsPeerStatus::PendingAcceptance));
    assert_eq!(aws.connection_id, Some(None));
}

#[test]
fn aws_peer_failed_round_trips() {
    round_trip::<Peer>(json!({
        "id": "5f9b4c2d0e3a5b7c8d9e0f1a", "providerName": "AWS", "containerId": "5e8a3b1c9d2f4a6b7c8d9e0f",
        "accepterRegionName": "ap-southeast-2", "awsAccountId": "730145926318", "vpcId": "vpc-0f2e4d6c8b0a1c3e5",
        "routeTableCidrBlock": "10.200.0.0/16", "connectionId": "pcx-09a8b7c6d5e4f3a21", "statusName": "FAILED",
        "errorStateName": "EXPIRED"
    }));
}

#[test]
fn gcp_peer_round_trips() {
    let p: Peer = round_trip(json!({
        "id": "5f9b4c2d0e3a5b7c8d9e0f1b", "providerName": "GCP", "containerId": "5e8a3b1c9d2f4a6b7c8d9e10",
        "gcpProjectId": "harbor-analytics-77213", "networkName": "core-vpc", "status": "FAILED",
        "errorMessage": "The peer network was deleted."
    }));
    assert!(matches!(p, Peer::Gcp(_)));
}

#[test]
fn azure_peer_round_trips() {
    let p: Peer = round_trip(json!({
        "id": "5f9b4c2d0e3a5b7c8d9e0f1c", "providerName": "AZURE", "containerId": "5e8a3b1c9d2f4a6b7c8d9e11",
        "azureDirectoryId": "e3b1f6a2-8c4d-4e7f-9a0b-1c2d3e4f5a6b", "azureSubscriptionId": "7c41e0d2-3b9a-4f65-8e17-a2d9c6b4f031",
        "resourceGroupName": "rg-ledger-eu", "vnetName": "vnet-ledger", "status": "DELETION_FAILED", "errorState": null
    }));
    assert!(matches!(p, Peer::Azure(_)));
}

#[test]
fn unknown_enum_values_are_kept() {
    let p: Peer = round_trip(json!({
        "providerName": "AWS", "containerId": "5e8a3b1c9d2f4a6b7c8d9e0f", "accepterRegionName": "us-east-1",
        "awsAccountId": "730145926318", "vpcId": "vpc-0f2e4d6c8b0a1c3e5", "routeTableCidrBlock": "10.200.0.0/16",
        "statusName": "QUARANTINED"
    }));
    let Peer::Aws(aws) = p else { panic!() };
    assert_eq!(
        aws.status_name,
        Some(AwsPeerStatus::Unknown("QUARANTINED".into()))
    );
}

#[test]
fn a_container_list_with_an_unknown_provider_decodes_and_keeps_its_json() {
    let tenant = json!({
        "id": "5e8a3b1c9d2f4a6b7c8d9e12", "providerName": "TENANT", "provisioned": true,
        "backingProviderName": "AWS", "regionName": "US_EAST_1", "extra": {"nested": [1, null, "x"]}
    });
    let page: ContainerPage = round_trip(json!({
        "links": [{"rel": "self", "href": "https://cloud.mongodb.com/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/containers/all?pageNum=1&itemsPerPage=100"}],
        "results": [
            {"id": "5e8a3b1c9d2f4a6b7c8d9e0f", "providerName": "AWS", "provisioned": true,
             "atlasCidrBlock": "10.12.8.0/21", "regionName": "AP_SOUTHEAST_2", "vpcId": "vpc-4b1e8d2c7a9f03e65"},
            tenant.clone(),
            {"id": "5e8a3b1c9d2f4a6b7c8d9e11", "providerName": "AZURE", "provisioned": false,
             "atlasCidrBlock": "172.20.64.0/22", "region": "SWEDEN_CENTRAL",
             "azureSubscriptionId": "7c41e0d2-3b9a-4f65-8e17-a2d9c6b4f031", "vnetName": null}
        ],
        "totalCount": 3
    }));
    assert_eq!(page.results.len(), 3);
    let Container::Unknown(unknown) = &page.results[1] else {
        panic!("{:?}", page.results[1])
    };
    assert_eq!(unknown.provider_name(), Some("TENANT"));
    assert_eq!(&Value::Object(unknown.raw().clone()), &tenant);
}

#[test]
fn a_malformed_known_provider_entry_names_provider_and_path() {
    let err = serde_json::from_value::<Container>(json!({
        "providerName": "AZURE", "atlasCidrBlock": "172.20.64.0/22", "region": 7
    }))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("AZURE container") && err.contains("`/region`"),
        "{err}"
    );
}

#[test]
fn a_non_24_hex_id_is_refused_when_decoding() {
    let err = serde_json::from_value::<Peer>(json!({
        "providerName": "GCP", "containerId": "../../etc", "gcpProjectId": "p", "networkName": "n"
    }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("containerId"), "{err}");
}
