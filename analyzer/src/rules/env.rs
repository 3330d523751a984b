//! Environment: what the job set by hand.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{Fact, ProcId};

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

/// One user setting (name=value) and where it was seen.
#[derive(Default)]
struct Setting<'a> {
    seen: Seen<'a>,
    /// Seen in NCCL's own echo (`X set by environment to Y`), not only on a command line.
    echoed: bool,
}

/// A command line or script line commented out (`# export NCCL_P2P_DISABLE=1`) sets nothing.
fn commented_out(ev: &Evidence) -> bool {
    let t = ev.text.trim_start();
    // Launcher prefixes (`[1,0]<stdout>:`, `0: `) come before the shell comment.
    let body = t.split_once(">:").map_or(t, |(_, b)| b).trim_start();
    body.starts_with('#')
}

/// User-set variables (not set by the net plugin itself), grouped by name=value: NCCL's echo
/// first, then assignments on command lines and in scripts (`-x NCCL_ALGO=Tree`,
/// `NCCL_NET_GDR_LEVEL=0 torchrun …`, `export FI_PROVIDER=efa`).
fn user_settings<'a>(
    ctx: &'a Ctx<'_>,
    wanted: impl Fn(&str, &str) -> bool,
) -> BTreeMap<(&'a str, &'a str), Setting<'a>> {
    let mut groups: BTreeMap<(&str, &str), Setting<'a>> = BTreeMap::new();
    let echoed = ctx.job.env.iter().map(|f| (f, true));
    let cmdline = ctx.job.cmdline_env.iter().filter(|f| !commented_out(&f.ev)).map(|f| (f, false));
    for (f, is_echo) in echoed.chain(cmdline) {
        let (name, value) = (f.data.0.as_str(), f.data.1.as_str());
        // aws-ofi-nccl sets platform defaults itself, which NCCL then echoes: not the user's.
        if ctx.job.plugin_env.get(name).is_some_and(|v| v.eq_ignore_ascii_case(value)) {
            continue;
        }
        if wanted(name, value) {
            let g = groups.entry((name, value)).or_default();
            g.seen.add(f.proc, &f.ev);
            g.echoed |= is_echo;
        }
    }
    groups
}

/// `A=1, B=2` and, for settings NCCL did not echo, where they were seen instead.
fn describe_settings(groups: &BTreeMap<(&str, &str), Setting<'_>>) -> String {
    let all: Vec<String> = groups.keys().map(|(n, v)| format!("{n}={v}")).collect();
    let cmdline_only: Vec<String> =
        groups.iter().filter(|(_, g)| !g.echoed).map(|((n, v), _)| format!("{n}={v}")).collect();
    let mut s = all.join(", ");
    if !cmdline_only.is_empty() {
        let which = if cmdline_only.len() == all.len() { "all".to_string() } else { cmdline_only.join(", ") };
        s.push_str(&format!(
            " ({which} seen on a command line or in a script, not echoed by NCCL: check that the job really ran with it)"
        ));
    }
    s
}

fn procs_of(groups: &BTreeMap<(&str, &str), Setting<'_>>) -> BTreeSet<ProcId> {
    groups.values().flat_map(|g| g.seen.procs.iter().copied()).collect()
}

fn evidence_of<'a>(groups: &'a BTreeMap<(&str, &str), Setting<'a>>) -> impl Iterator<Item = &'a Evidence> {
    groups.values().flat_map(|g| g.seen.evidence.iter().copied())
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
        let procs = procs_of(&groups);
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "The job overrides NCCL's own choices: {}. These are debugging knobs; in production they usually cost bandwidth or hide the real problem.",
                    describe_settings(&groups)
                ),
            )
            .affecting(ctx.job, procs.iter().copied())
            .evidence(evidence_of(&groups)),
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
        let stack = if modern {
            "this stack (aws-ofi-nccl ≥ 1.7 / libfabric ≥ 1.18) detects them itself"
        } else {
            "with aws-ofi-nccl ≥ 1.7 / libfabric ≥ 1.18 they are detected automatically"
        };
        let procs = procs_of(&groups);
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "Legacy EFA settings {}: {stack}; keeping them can pin old behaviour (NCCL_PROTO=simple disables LL/LL128).",
                    describe_settings(&groups)
                ),
            )
            .affecting(job, procs.iter().copied())
            .evidence(evidence_of(&groups)),
        );
    }
}

/// Variables current NCCL no longer reads: (name, the NCCL version that stopped reading it,
/// what to use instead). Versions from NCCL's environment-variable documentation, which keeps
/// these entries with their "removed in" note; NCCL_IB_GDR_LEVEL: current graph/paths.cc reads
/// only NCCL_NET_GDR_LEVEL. NCCL_MIN/MAX_NRINGS are NOT here: connect.cc still reads them as
/// the legacy names of NCCL_MIN/MAX_NCHANNELS.
const REMOVED: &[(&str, (u32, u32), &str)] = &[
    ("NCCL_IB_CUDA_SUPPORT", (2, 4), "NCCL_NET_GDR_LEVEL"),
    ("NCCL_IB_GDR_LEVEL", (2, 4), "NCCL_NET_GDR_LEVEL (same values)"),
    ("NCCL_SINGLE_RING_THRESHOLD", (2, 3), "nothing: NCCL picks rings/channels itself"),
    ("NCCL_LL_THRESHOLD", (2, 5), "NCCL_PROTO (e.g. ^LL to forbid the LL protocol), only to debug"),
    ("NCCL_TREE_THRESHOLD", (2, 5), "NCCL_ALGO (e.g. Ring or Tree), only to debug"),
    (
        "NCCL_RINGS",
        (2, 5),
        "nothing: rings come from NCCL's topology search (NCCL_TOPO_FILE if the topology is wrong)",
    ),
];

/// The oldest NCCL version (major, minor) the job's banners show.
fn oldest_nccl(ctx: &Ctx<'_>) -> Option<((u32, u32), String)> {
    ctx.job.versions.iter().filter_map(|f| major_minor(&f.data).map(|v| (v, f.data.clone()))).min()
}

pub struct EnvRemoved;

impl Rule for EnvRemoved {
    fn id(&self) -> RuleId {
        RuleId::ENV_REMOVED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let groups = user_settings(ctx, |name, _| REMOVED.iter().any(|(n, ..)| *n == name));
        // NCCL's own `ENV X is deprecated` (EnvProblem).
        let deprecated: Vec<&Fact<(String, String)>> =
            job.env_problems.iter().filter(|f| f.data.1.contains("deprecated")).collect();
        if groups.is_empty() && deprecated.is_empty() {
            return;
        }
        let oldest = oldest_nccl(ctx);
        let mut parts: Vec<String> = Vec::new();
        let mut all_still_read = true;
        let names: BTreeSet<&str> = groups.keys().map(|(n, _)| *n).collect();
        for name in &names {
            let Some((_, removed, instead)) = REMOVED.iter().find(|(n, ..)| n == name) else { continue };
            let still_read = oldest.as_ref().is_some_and(|(v, _)| v < removed);
            all_still_read &= still_read;
            let now = match &oldest {
                Some((_, v)) if still_read => {
                    format!(
                        "NCCL {v} here still reads it, but {}.{} and later ignore it",
                        removed.0, removed.1
                    )
                }
                _ => format!("ignored since NCCL {}.{}", removed.0, removed.1),
            };
            parts.push(format!("{name} ({now}; use {instead})"));
        }
        let mut dep_names: BTreeSet<&str> = BTreeSet::new();
        for f in &deprecated {
            dep_names.insert(f.data.0.as_str());
        }
        if !dep_names.is_empty() {
            all_still_read = false;
            parts.push(format!(
                "{} (NCCL itself says it is deprecated: see the NCCL environment documentation for its replacement)",
                dep_names.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let mut procs = procs_of(&groups);
        procs.extend(deprecated.iter().map(|f| f.proc));
        let cmdline = if groups.values().any(|g| !g.echoed) {
            " Some were seen only on a command line or in a script, not echoed by NCCL."
        } else {
            ""
        };
        // Still honoured by the NCCL actually running: a problem only on upgrade.
        let severity = if all_still_read { Severity::Info } else { Severity::Warning };
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "The job sets variables that current NCCL no longer reads: {}. Setting them changes nothing now and hides what was intended.{cmdline}",
                    parts.join("; ")
                ),
            )
            .severity(severity)
            .affecting(job, procs.iter().copied())
            .evidence(evidence_of(&groups).chain(deprecated.iter().map(|f| &f.ev))),
        );
    }
}

/// PyTorch's NCCL variables renamed to `TORCH_NCCL_*` (pytorch/pytorch#114880, PyTorch 2.2+):
/// `[W Utils.hpp:135] Warning: Environment variable NCCL_ASYNC_ERROR_HANDLING is deprecated; use
/// TORCH_NCCL_ASYNC_ERROR_HANDLING instead (function getCvarInt)`.
const TORCH_LEGACY: &[&str] =
    &["NCCL_ASYNC_ERROR_HANDLING", "NCCL_BLOCKING_WAIT", "NCCL_DESYNC_DEBUG", "NCCL_ABORT_ON_ERROR"];

static TORCH_DEPRECATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"variable (NCCL_[A-Z_]+) is deprecated(?:; use (TORCH_NCCL_[A-Z_]+))?").expect("static regex")
});
/// PyTorch's rank prefix on warnings (`[rank7]:[W Utils.hpp:108] …`).
static TORCH_RANK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[rank(\d+)\]:").expect("static regex"));

pub struct EnvLegacyTorch;

impl Rule for EnvLegacyTorch {
    fn id(&self) -> RuleId {
        RuleId::ENV_LEGACY_TORCH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // variable → (replacement, lines, ranks)
        let mut by_var: BTreeMap<String, (String, Seen<'_>, BTreeSet<u32>)> = BTreeMap::new();
        for f in job.notable_other.iter() {
            let Some(c) = TORCH_DEPRECATION.captures(&f.data) else { continue };
            let Some(var) = c.get(1).map(|m| m.as_str()) else { continue };
            if !TORCH_LEGACY.contains(&var) {
                continue;
            }
            let instead = c.get(2).map_or_else(|| format!("TORCH_{var}"), |m| m.as_str().to_string());
            let g =
                by_var.entry(var.to_string()).or_insert_with(|| (instead, Seen::default(), BTreeSet::new()));
            g.1.add(f.proc, &f.ev);
            if let Some(r) = TORCH_RANK.captures(&f.data).and_then(|c| c.get(1)?.as_str().parse().ok()) {
                g.2.insert(r);
            }
        }
        if by_var.is_empty() {
            return;
        }
        let parts: Vec<String> = by_var
            .iter()
            .map(|(var, (instead, seen, _))| format!("{var} → {instead} ({} warning line(s))", seen.count))
            .collect();
        let procs: BTreeSet<ProcId> = by_var.values().flat_map(|g| g.1.procs.iter().copied()).collect();
        let ranks: BTreeSet<u32> = by_var.values().flat_map(|g| g.2.iter().copied()).collect();
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "PyTorch warns that the job sets its NCCL variables under their old names: {}. PyTorch still honours them for now; rename them in the launch scripts to silence the warnings and keep the setting when the old names go.",
                    parts.join(", ")
                ),
            )
            .hosts(job.hosts_of(procs.iter().copied()))
            .ranks(job.ranks_of(procs.iter().copied()).into_iter().chain(ranks))
            .evidence(by_var.values().flat_map(|g| g.1.evidence.iter().copied())),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    #[test]
    fn debug_override_from_echo_and_command_line() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL_NET_GDR_LEVEL set by environment to PHB\n\
             b:2:2 [0] NCCL INFO NCCL_IB_DISABLE set by environment to 1.\n",
        );
        let f = expect(&a, RuleId::ENV_DEBUG_OVERRIDE, Severity::Warning);
        assert!(f.message.contains("NCCL_NET_GDR_LEVEL=PHB") && f.message.contains("NCCL_IB_DISABLE=1"));
        assert_eq!(f.hosts, ["a", "b"]);
        assert!(!f.message.contains("command line"), "{}", f.message);

        let a = analyze_text(
            "$ mpirun --hostfile hosts -x  NCCL_ALGO=Tree -x NCCL_DEBUG=INFO -np 2 ./all_reduce_perf -b 8 -e 1G\n",
        );
        let f = expect(&a, RuleId::ENV_DEBUG_OVERRIDE, Severity::Warning);
        assert!(f.message.contains("NCCL_ALGO=Tree") && f.message.contains("command line"), "{}", f.message);
        assert!(!f.message.contains("NCCL_DEBUG"));
    }

    #[test]
    fn debug_override_not_for_defaults_plugin_values_or_comments() {
        // The default value echoed, a value aws-ofi-nccl set itself, a commented-out export.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL_IB_DISABLE set by environment to 0.\n\
             a:1:1 [0] NCCL INFO NET/OFI Setting NCCL_PROTO to \"simple\"\n\
             a:1:1 [0] NCCL INFO NCCL_PROTO set by environment to simple\n\
             # export NCCL_P2P_DISABLE=1\n",
        );
        absent(&a, RuleId::ENV_DEBUG_OVERRIDE);
        absent(&a, RuleId::ENV_LEGACY_EFA);
    }

    #[test]
    fn legacy_efa_on_command_line() {
        let a =
            analyze_text("mpirun -x FI_PROVIDER=efa -x FI_EFA_USE_DEVICE_RDMA=1 -np 16 ./all_reduce_perf\n");
        let f = expect(&a, RuleId::ENV_LEGACY_EFA, Severity::Info);
        assert!(f.message.contains("FI_EFA_USE_DEVICE_RDMA=1"), "{}", f.message);
        // An old plugin still needs them.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NET/OFI Using aws-ofi-nccl 1.5.0aws\n\
             mpirun -x FI_EFA_USE_DEVICE_RDMA=1 ./x\n",
        );
        absent(&a, RuleId::ENV_LEGACY_EFA);
    }

    #[test]
    fn removed_variable_echoed() {
        let a = analyze_text(
            "server3:15220:15320 [4] NCCL INFO NCCL_TREE_THRESHOLD set by environment to 0.\n\
             server1:117949:118326 [5] NCCL INFO NCCL_TREE_THRESHOLD set by environment to 0.\n",
        );
        let f = expect(&a, RuleId::ENV_REMOVED, Severity::Warning);
        assert!(f.message.contains("NCCL_ALGO"), "{}", f.message);
        assert_eq!(f.hosts, ["server1", "server3"]);
        // NCCL 2.4 still reads it: only a problem on upgrade.
        let a = analyze_text(
            "NCCL version 2.4.8+cuda10.1\n\
             server3:15220:15320 [4] NCCL INFO NCCL_TREE_THRESHOLD set by environment to 0.\n",
        );
        let f = expect(&a, RuleId::ENV_REMOVED, Severity::Info);
        assert!(f.message.contains("2.4.8+cuda10.1 here still reads it"), "{}", f.message);
        // On a command line, and NCCL's own deprecation notice.
        let a = analyze_text("export NCCL_IB_CUDA_SUPPORT=1\n");
        let f = expect(&a, RuleId::ENV_REMOVED, Severity::Warning);
        assert!(f.message.contains("NCCL_NET_GDR_LEVEL") && f.message.contains("command line"));
        let a = analyze_text("a:1:1 [0] NCCL INFO ENV NCCL_FOO is deprecated\n");
        expect(&a, RuleId::ENV_REMOVED, Severity::Warning);
    }

    #[test]
    fn removed_variable_absent_for_current_ones() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL_NET_GDR_LEVEL set by environment to PHB\n\
             a:1:1 [0] NCCL INFO NCCL_MAX_NRINGS set by environment to 4.\n\
             a:1:1 [0] NCCL INFO NCCL_P2P_LL_THRESHOLD set by environment to 0.\n",
        );
        absent(&a, RuleId::ENV_REMOVED);
    }

    #[test]
    fn legacy_torch_grouped_with_count() {
        let line = "[W Utils.hpp:135] Warning: Environment variable NCCL_ASYNC_ERROR_HANDLING is deprecated; use TORCH_NCCL_ASYNC_ERROR_HANDLING instead (function getCvarInt)\n";
        let a = analyze_text(&line.repeat(1000));
        let f = expect(&a, RuleId::ENV_LEGACY_TORCH, Severity::Info);
        assert!(
            f.message.contains("TORCH_NCCL_ASYNC_ERROR_HANDLING (1000 warning line(s))"),
            "{}",
            f.message
        );
        assert_eq!(a.findings.iter().filter(|f| f.rule == RuleId::ENV_LEGACY_TORCH).count(), 1);
        assert_eq!(f.evidence_total, 1000);
        let a = analyze_text(
            "(RayTrainWorker pid=2273, ip=172.24.21.66) [rank7]:[W Utils.hpp:108] Warning: Environment variable NCCL_BLOCKING_WAIT is deprecated; use TORCH_NCCL_BLOCKING_WAIT instead (function getCvarString)\n",
        );
        let f = expect(&a, RuleId::ENV_LEGACY_TORCH, Severity::Info);
        assert_eq!(f.ranks, [7]);
    }

    #[test]
    fn legacy_torch_absent_without_warning() {
        // Setting the new name, or the old one without PyTorch's warning, is no finding.
        let a = analyze_text(
            "export TORCH_NCCL_ASYNC_ERROR_HANDLING=1\n\
             Environment variable NCCL_SOCKET_IFNAME is deprecated\n",
        );
        absent(&a, RuleId::ENV_LEGACY_TORCH);
    }
}
