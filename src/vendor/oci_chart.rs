//! A chart from an OCI registry (`oci://host/repo/chart` at a version), through ferry's
//! registry client, with the credentials Docker's config holds for the registry: what
//! `helm pull oci://...` fetches, the chart layer of the version's manifest.

use crate::artifact::oci::Registry;
use crate::artifact::oci_json::Manifest;
use crate::artifact::{auth, ArtifactRef, RegistryOptions};

/// The chart layer's media type (Helm's `ChartLayerMediaType`).
const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// A chart archive larger than this is not one.
const MAX_CHART: u64 = 64 << 20;

/// The archive of `url` at `version`.
pub fn fetch(url: &str, version: &str) -> Result<Vec<u8>, String> {
    // OCI tags cannot hold `+`: helm pushes `1.0.0+build` as `1.0.0_build`.
    let tag = version.replace('+', "_");
    let r = ArtifactRef::parse(&format!("{url}:{tag}")).map_err(|e| e.to_string())?;
    let credentials = auth::resolve(None, &r.registry).map_err(|e| e.to_string())?;
    let opts = RegistryOptions {
        credentials,
        ..RegistryOptions::default()
    };
    let registry = Registry::connect(&r, "fetching a chart", &opts).map_err(|e| e.to_string())?;
    let (bytes, _) = registry.manifest(&r).map_err(|e| e.to_string())?;
    let manifest = Manifest::parse(&bytes)?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == CHART_LAYER)
        .ok_or_else(|| {
            format!("{url}:{tag} is not a Helm chart: its manifest has no {CHART_LAYER} layer")
        })?;
    registry
        .blob(&r, &layer.digest, layer.size, MAX_CHART)
        .map_err(|e| e.to_string())
}

/// Every tag of the chart repository `url` (`oci://host/repo/chart`), for resolving a range,
/// listed with the same credentials as [`fetch`].
pub fn tags(url: &str) -> Result<Vec<String>, String> {
    use crate::images::name::ImageName;
    use crate::images::registry::{Client, ClientOptions};
    let name = ImageName::parse(url.trim_start_matches("oci://"))?;
    let client = Client::new(ClientOptions::default()).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(client.tags(&name))
        .map(|l| l.tags)
        .map_err(|e| e.to_string())
}
