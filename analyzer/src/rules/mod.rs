//! The rules: one small unit per rule ID, one file per family, registered in [`REGISTRY`].
//! Adding a rule touches its family's file and this list.
use ncclscope_parser::InputSummary;

use crate::catalog::RuleId;
use crate::finding::Finding;
use crate::model::Job;
use crate::platform::DetectedPlatform;

mod env;
mod failures;
mod gdr;
mod meta;
mod performance;
#[cfg(test)]
pub(crate) mod testing;
mod transport;
mod versions;

/// What a rule sees.
pub struct Ctx<'a> {
    pub job: &'a Job,
    pub inputs: &'a [InputSummary],
    pub platform: Option<&'a DetectedPlatform>,
}

impl Ctx<'_> {
    pub fn is_efa_platform(&self) -> bool {
        self.platform.is_some_and(|p| p.is_efa())
    }
}

/// Processes and the lines that show them, gathered for one finding.
#[derive(Default)]
pub struct Seen<'a> {
    pub procs: std::collections::BTreeSet<crate::model::ProcId>,
    pub evidence: Vec<&'a crate::finding::Evidence>,
    pub count: usize,
}

impl<'a> Seen<'a> {
    pub fn add(&mut self, proc: crate::model::ProcId, ev: &'a crate::finding::Evidence) {
        self.procs.insert(proc);
        self.evidence.push(ev);
        self.count += 1;
    }
}

pub trait Rule: Sync {
    fn id(&self) -> RuleId;
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>);
}

pub static REGISTRY: &[&dyn Rule] = &[
    &transport::NetSocketFallback,
    &transport::NetPluginLoadFailed,
    &transport::IbNoDevice,
    &transport::OfiProviderNotEfa,
    &transport::EfaNotFound,
    &gdr::GdrDisabled,
    &env::EnvDebugOverride,
    &env::EnvLegacyEfa,
    &versions::NcclVersionMismatch,
    &failures::InitIncomplete,
    &failures::RemotePeerFailed,
    &failures::NcclWarn,
    &performance::BusbwTcpLevel,
    &meta::InsufficientLogging,
    &meta::ParseError,
];

/// Whether a rule of this ID is checked by this build (the catalog lists more).
pub fn is_checked(id: RuleId) -> bool {
    REGISTRY.iter().any(|r| r.id() == id)
}

/// Runs every rule; findings come out sorted critical first, then by rule ID.
pub fn run_all(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in REGISTRY {
        rule.check(ctx, &mut out);
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    out
}
