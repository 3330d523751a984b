#!/usr/bin/env bash
# Builds the fuzz seed corpora in fuzz/corpus/<target>/ from ../shared/corpus (the real-log
# corpus beside the checkout) and the repo's samples. Nothing is copied into the repo: corpus/
# is git-ignored and regenerated at will. Lines are split into small per-line seeds for the line
# parsers (libFuzzer works best on small inputs); whole files seed the document targets.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/../../shared/corpus}"
if [ ! -d "$src" ]; then
    echo "seed.sh: no corpus at $src (give its path as the first argument)" >&2
    exit 1
fi
out="$here/corpus"
rm -rf "$out"
for t in nccl_line nccltests_line ucx_line ucx_info topo_xml smi pipeline; do mkdir -p "$out/$t"; done

# Whole files: the pipeline gets everything (capped at 64 KiB each, libFuzzer's -max_len range).
n=0
for f in "$src"/nccl/* "$src"/ucx/* "$src"/topo/* "$here"/../samples/*.log "$here"/../samples/*/*.log; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    head -c 65536 "$f" > "$out/pipeline/$(printf %04d $n)-$(basename "$f")"
done
for f in "$src"/topo/*.xml; do cp "$f" "$out/topo_xml/"; done
for f in "$src"/topo/*.txt; do cp "$f" "$out/smi/"; done
for f in "$src"/ucx/*; do
    grep -q '^#' "$f" && grep '^#' "$f" > "$out/ucx_info/$(basename "$f")" || true
done

# Line seeds: each distinct line of the matching files, one seed per line (deduplicated by
# content hash so reruns are stable).
split_lines() { # dir, pattern, files...
    local dir="$1" pattern="$2"; shift 2
    cat "$@" 2>/dev/null | tr -d '\r' | grep -a -E "$pattern" | sort -u | while IFS= read -r line; do
        printf '%s\n' "$line" > "$dir/$(printf '%s' "$line" | sha1sum | cut -c1-16)"
    done
}
split_lines "$out/nccl_line" 'NCCL|Using|via|Channel|Trees|Ring' "$src"/nccl/* "$here"/../samples/*.log
split_lines "$out/nccltests_line" '^ *#|^ +[0-9]' "$src"/nccl/* "$here"/../samples/*.log
split_lines "$out/ucx_line" 'UCX|NIXL|ucp_|uct_|ucs_|nixl' "$src"/ucx/*
for t in "$out"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
