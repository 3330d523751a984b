//! Transport selection: is the fast network used at all?
use std::collections::BTreeSet;

use ncclscope_parser::nccl::PluginEvent;

use super::{Ctx, Rule};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{ConnKind, ProcId};

pub struct NetSocketFallback;

impl Rule for NetSocketFallback {
    fn id(&self) -> RuleId {
        RuleId::NET_SOCKET_FALLBACK
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut evidence: Vec<&Evidence> = Vec::new();
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        for f in job.using_network.iter().filter(|f| f.data.eq_ignore_ascii_case("Socket")) {
            procs.insert(f.proc);
            evidence.push(&f.ev);
        }
        for ((p, kind), s) in &job.connections {
            if matches!(kind, ConnKind::Net { name, .. } if name == "Socket") {
                procs.insert(*p);
                evidence.push(&s.first);
            }
        }
        // NCCL ≤ 2.5 prints no `Using network`: a process that listed socket interfaces and
        // no fast network (no IB devices, no plugin provider) fell back to sockets.
        let fast: BTreeSet<ProcId> = job
            .ib_devices
            .iter()
            .map(|f| f.proc)
            .chain(job.ofi_provider.iter().map(|f| f.proc))
            .chain(
                job.using_network.iter().filter(|f| !f.data.eq_ignore_ascii_case("Socket")).map(|f| f.proc),
            )
            .collect();
        // Only when no process of the job shows a fast network: NCCL 2.4 also lists socket
        // interfaces in processes that then use IB.
        let job_has_fast = !fast.is_empty();
        for f in job.socket_devices.iter().filter(|_| !job_has_fast) {
            if procs.insert(f.proc) || evidence.len() < 3 {
                evidence.push(&f.ev);
            }
        }
        if procs.is_empty() {
            return;
        }
        let hosts = job.hosts_of(procs.iter().copied());
        let (severity, why) = match job.multi_node_evidence() {
            Some(why) => (Severity::Critical, format!("The job spans nodes ({why}), so every inter-node byte goes through TCP sockets: expect 10–100× lower bandwidth than EFA/InfiniBand.")),
            None => (Severity::Info, "Only one host is visible in these logs; NCCL does not use the network inside a node, so this costs nothing here — but the same setup across nodes would run over TCP.".to_string()),
        };
        out.push(
            Finding::new(
                self.id(),
                format!("{} process(es) use NCCL's Socket transport. {why}", procs.len()),
            )
            .severity(severity)
            .hosts(hosts)
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(evidence),
        );
    }
}

fn plugin_expected(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.is_efa_platform() {
        return Some("this is an AWS EFA platform".into());
    }
    if let Some(f) = ctx.job.env.iter().find(|f| f.data.0 == "NCCL_NET_PLUGIN") {
        return Some(format!("NCCL_NET_PLUGIN is set to {}", f.data.1));
    }
    if !ctx.job.ofi_provider.is_empty() || !ctx.job.ofi_plugin_version.is_empty() {
        return Some("aws-ofi-nccl (NET/OFI) lines are present".into());
    }
    None
}

pub struct NetPluginLoadFailed;

impl Rule for NetPluginLoadFailed {
    fn id(&self) -> RuleId {
        RuleId::NET_PLUGIN_LOAD_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let loaded: BTreeSet<ProcId> = job
            .plugin
            .iter()
            .filter(|f| {
                f.data.0 == "NET" && matches!(f.data.1, PluginEvent::Loaded | PluginEvent::Initialized)
            })
            .map(|f| f.proc)
            .collect();
        let failed: Vec<_> = job
            .plugin
            .iter()
            .filter(|f| {
                f.data.0 == "NET" && matches!(f.data.1, PluginEvent::NotFound | PluginEvent::LoadError)
            })
            .filter(|f| !loaded.contains(&f.proc))
            .collect();
        if failed.is_empty() {
            return;
        }
        let load_error = failed.iter().any(|f| f.data.1 == PluginEvent::LoadError);
        // On a plain IB cluster "No plugin found, using internal implementation" is normal.
        let why = match plugin_expected(ctx) {
            Some(why) => why,
            None if load_error => "the library exists but could not be loaded".into(),
            None => return,
        };
        let used: BTreeSet<&str> = job
            .using_network
            .iter()
            .filter(|f| failed.iter().any(|x| x.proc == f.proc))
            .map(|f| f.data.as_str())
            .collect();
        let then = if used.is_empty() {
            String::new()
        } else {
            format!(" NCCL then used: {}.", used.into_iter().collect::<Vec<_>>().join(", "))
        };
        let procs: BTreeSet<ProcId> = failed.iter().map(|f| f.proc).collect();
        out.push(
            Finding::new(
                self.id(),
                format!("The external net plugin (libnccl-net.so) did not load on {} process(es) although one was expected ({why}).{then}", procs.len()),
            )
            .hosts(job.hosts_of(procs.iter().copied()))
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(failed.iter().map(|f| &f.ev)),
        );
    }
}

pub struct IbNoDevice;

impl Rule for IbNoDevice {
    fn id(&self) -> RuleId {
        RuleId::IB_NO_DEVICE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut evidence: Vec<&Evidence> = job.ib_no_device.iter().map(|f| &f.ev).collect();
        let mut procs: BTreeSet<ProcId> = job.ib_no_device.iter().map(|f| f.proc).collect();
        // `Failed to open libibverbs.so[.1]`: rdma-core is missing, so no IB device either.
        for f in job.warns.iter().filter(|f| f.data.message.contains("libibverbs")) {
            procs.insert(f.proc);
            evidence.push(&f.ev);
        }
        if procs.is_empty() {
            return;
        }
        // A process that carried its traffic over a plugin (EFA, IBext) does not need NET/IB.
        let plugin_net: BTreeSet<ProcId> = job
            .using_network
            .iter()
            .filter(|f| f.data != "Socket" && f.data != "IB")
            .map(|f| f.proc)
            .chain(job.ofi_provider.iter().map(|f| f.proc))
            .collect();
        let affected: BTreeSet<ProcId> = procs.difference(&plugin_net).copied().collect();
        if affected.is_empty() {
            return;
        }
        let (severity, scope) = match job.multi_node_evidence() {
            Some(why) => (
                Severity::Critical,
                format!("The job spans nodes ({why}), so inter-node traffic cannot use RDMA."),
            ),
            None => {
                (Severity::Info, "Only one host is visible, where NCCL does not need the network.".into())
            }
        };
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "NCCL found no usable InfiniBand/RoCE device on {} process(es). {scope}",
                    affected.len()
                ),
            )
            .severity(severity)
            .hosts(job.hosts_of(affected.iter().copied()))
            .ranks(job.ranks_of(affected.iter().copied()))
            .evidence(evidence),
        );
    }
}

pub struct OfiProviderNotEfa;

impl Rule for OfiProviderNotEfa {
    fn id(&self) -> RuleId {
        RuleId::OFI_PROVIDER_NOT_EFA
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // Other fabrics (Slingshot `cxi`, verbs on RoCE) legitimately use other providers.
        if !ctx.is_efa_platform() {
            return;
        }
        let job = ctx.job;
        let bad: Vec<_> =
            job.ofi_provider.iter().filter(|f| !f.data.0.to_ascii_lowercase().contains("efa")).collect();
        if bad.is_empty() {
            return;
        }
        let providers: BTreeSet<&str> = bad.iter().map(|f| f.data.0.as_str()).collect();
        let procs: BTreeSet<ProcId> = bad.iter().map(|f| f.proc).collect();
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "aws-ofi-nccl selected the libfabric provider '{}' instead of efa on an EFA platform: traffic goes over TCP, not SRD.",
                    providers.into_iter().collect::<Vec<_>>().join("', '")
                ),
            )
            .hosts(job.hosts_of(procs.iter().copied()))
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(bad.iter().map(|f| &f.ev)),
        );
    }
}

pub struct EfaNotFound;

impl Rule for EfaNotFound {
    fn id(&self) -> RuleId {
        RuleId::EFA_NOT_FOUND
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        if job.ofi_no_provider.is_empty() {
            return;
        }
        let procs: BTreeSet<ProcId> = job.ofi_no_provider.iter().map(|f| f.proc).collect();
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "aws-ofi-nccl found no usable EFA provider on {} process(es): the EFA devices are not visible to the job (device plugin, pod resources) or libfabric does not match the EFA installer.",
                    procs.len()
                ),
            )
            .hosts(job.hosts_of(procs.iter().copied()))
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(job.ofi_no_provider.iter().map(|f| &f.ev)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    const TWO_HOSTS_SOCKET: &str = "\
a:1:1 [0] NCCL INFO NET/IB : No device found.
a:1:1 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0>
a:1:1 [0] NCCL INFO Using network Socket
b:2:2 [0] NCCL INFO Using network Socket
a:1:1 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0
";

    #[test]
    fn socket_fallback_across_hosts_is_critical() {
        let a = analyze_text(TWO_HOSTS_SOCKET);
        let f = expect(&a, RuleId::NET_SOCKET_FALLBACK, Severity::Critical);
        assert_eq!(f.hosts, ["a", "b"]);
        expect(&a, RuleId::IB_NO_DEVICE, Severity::Critical);
    }

    #[test]
    fn socket_on_one_host_is_info_and_ib_is_no_fallback() {
        let a = analyze_text("a:1:1 [0] NCCL INFO Using network Socket\n");
        expect(&a, RuleId::NET_SOCKET_FALLBACK, Severity::Info);
        let a = analyze_text("a:1:1 [0] NCCL INFO Using network IB\nb:1:1 [0] NCCL INFO Using network IB\n");
        absent(&a, RuleId::NET_SOCKET_FALLBACK);
    }
}
