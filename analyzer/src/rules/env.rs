//! Environment: what the job set by hand.
use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Rule, Seen};
use crate::catalog::RuleId;
use crate::finding::Finding;
use crate::model::ProcId;

/// Variables that override NCCL's own tuning or transport choice, with the value that is the
/// default (echoing the default is not an override).
const DEBUG_OVERRIDES: &[(&str, Option<&str>)] = &[
    ("NCCL_P2P_DISABLE", Some("0")),
    ("NCCL_SHM_DISABLE", Some("0")),
    ("NCCL_IB_DISABLE", Some("0")),
    ("NCCL_NET_GDR_LEVEL", None),
    ("NCCL_ALGO", None),
    ("NCCL_PROTO", None),
    ("NCCL_MIN_NCHANNELS", None),
    ("NCCL_MAX_NCHANNELS", None),
    ("NCCL_MIN_NRINGS", None),
    ("NCCL_MAX_NRINGS", None),
    ("NCCL_CROSS_NIC", None),
    ("NCCL_P2P_LEVEL", None),
    ("NCCL_NET_GDR_READ", None),
    ("NCCL_IBEXT_DISABLE", Some("0")),
    ("NCCL_NVLS_ENABLE", None),
    ("NCCL_COLLNET_ENABLE", None),
    ("NCCL_BUFFSIZE", None),
    ("NCCL_NTHREADS", None),
    ("NCCL_CHECKS_DISABLE", Some("0")),
    ("NCCL_LAUNCH_MODE", None),
];

/// User-set variables (not set by the net plugin itself), grouped by name=value.
fn user_settings<'a>(
    ctx: &'a Ctx<'_>,
    wanted: impl Fn(&str, &str) -> bool,
) -> BTreeMap<(&'a str, &'a str), Seen<'a>> {
    let mut groups: BTreeMap<(&str, &str), Seen<'a>> = BTreeMap::new();
    for f in ctx.job.env.iter() {
        let (name, value) = (f.data.0.as_str(), f.data.1.as_str());
        // aws-ofi-nccl sets platform defaults itself, which NCCL then echoes: not the user's.
        if ctx.job.plugin_env.get(name).is_some_and(|v| v.eq_ignore_ascii_case(value)) {
            continue;
        }
        if wanted(name, value) {
            groups.entry((name, value)).or_default().add(f.proc, &f.ev);
        }
    }
    groups
}

pub struct EnvDebugOverride;

impl Rule for EnvDebugOverride {
    fn id(&self) -> RuleId {
        RuleId::ENV_DEBUG_OVERRIDE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let groups = user_settings(ctx, |name, value| {
            DEBUG_OVERRIDES.iter().any(|(n, default)| *n == name && *default != Some(value))
        });
        if groups.is_empty() {
            return;
        }
        let settings: Vec<String> = groups.keys().map(|(n, v)| format!("{n}={v}")).collect();
        let procs: BTreeSet<ProcId> = groups.values().flat_map(|g| g.procs.iter().copied()).collect();
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "The job overrides NCCL's own choices: {}. These are debugging knobs; in production they usually cost bandwidth or hide the real problem.",
                    settings.join(", ")
                ),
            )
            .hosts(ctx.job.hosts_of(procs.iter().copied()))
            .ranks(ctx.job.ranks_of(procs.iter().copied()))
            .evidence(groups.values().flat_map(|g| g.evidence.iter().copied())),
        );
    }
}

pub struct EnvLegacyEfa;

/// Parses the leading `major.minor` of a version like `1.13.2-aws`, `1.5.0aws`, `1.22`.
pub(crate) fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    Some((it.next()?.parse().ok()?, it.next().and_then(|m| m.parse().ok()).unwrap_or(0)))
}

impl Rule for EnvLegacyEfa {
    fn id(&self) -> RuleId {
        RuleId::ENV_LEGACY_EFA
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // Legacy only on a modern stack: aws-ofi-nccl ≥ 1.7 or libfabric ≥ 1.18.
        let plugin = job.ofi_plugin_version.iter().filter_map(|f| major_minor(&f.data)).max();
        let fabric = job.libfabric_version.iter().filter_map(|f| major_minor(&f.data)).max();
        let modern = plugin.is_some_and(|v| v >= (1, 7)) || fabric.is_some_and(|v| v >= (1, 18));
        let known_old = !modern && (plugin.is_some() || fabric.is_some());
        if known_old {
            return;
        }
        let groups = user_settings(ctx, |name, value| match name {
            "FI_PROVIDER" => value.eq_ignore_ascii_case("efa"),
            "FI_EFA_USE_DEVICE_RDMA" | "FI_EFA_FORK_SAFE" => value == "1",
            "RDMAV_FORK_SAFE" => true,
            "NCCL_PROTO" => value.eq_ignore_ascii_case("simple"),
            _ => false,
        });
        if groups.is_empty() {
            return;
        }
        let settings: Vec<String> = groups.keys().map(|(n, v)| format!("{n}={v}")).collect();
        let stack = if modern {
            "this stack (aws-ofi-nccl ≥ 1.7 / libfabric ≥ 1.18) detects them itself"
        } else {
            "with aws-ofi-nccl ≥ 1.7 / libfabric ≥ 1.18 they are detected automatically"
        };
        let procs: BTreeSet<ProcId> = groups.values().flat_map(|g| g.procs.iter().copied()).collect();
        out.push(
            Finding::new(self.id(), format!("Legacy EFA settings {}: {stack}; keeping them can pin old behaviour (NCCL_PROTO=simple disables LL/LL128).", settings.join(", ")))
                .hosts(job.hosts_of(procs.iter().copied()))
                .ranks(job.ranks_of(procs.iter().copied()))
                .evidence(groups.values().flat_map(|g| g.evidence.iter().copied())),
        );
    }
}
