"""results.json -> results.md (Markdown tables with ratios) and PNG plots.

Usage: report.py RESULTS_DIR  (reads RESULTS_DIR/results.json, writes
RESULTS_DIR/results.md and RESULTS_DIR/*.png). Every figure comes from
results.json, written by the same run (bench/run.sh).
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def f(v, digits=0):
    if v is None:
        return "n/a"
    if isinstance(v, float) and digits == 0 and abs(v) < 10:
        return f"{v:.2f}"
    return f"{v:,.{digits}f}"


def mib(kb):
    return None if kb is None else kb / 1024.0


def dollars(v):
    return "n/a" if v is None else f"{v:.4f}"


def x(v):
    return "n/a" if v is None else f"{v:.2f}x"


def sizes(c, part):
    if part == "oxbow":
        return (f"tables of {', '.join(f'{n:,}' for n in c.get('sizes', []))} files, "
                f"{c.get('reps')} repetitions (medians)")
    if part == "cold_start":
        return f"{c.get('cold_reps')} cold starts per function"
    if part == "dms_merge":
        files = c.get('records') // max(c.get('batch'), 1)
        return (f"full load of {c.get('records'):,} rows + {files} CDC files of {c.get('batch'):,} changes, "
                f"{c.get('reps')} runs (medians)")
    return f"{c.get('records'):,} records in batches of {c.get('batch'):,}, {c.get('reps')} runs (medians)"


def nan(v):
    return float("nan") if v is None else v


def machine_md(r):
    m = r.get("machine", {})
    c = r.get("config", {})
    mem = m.get("memory_kb")
    lines = [
        "## Machine and run",
        "",
        "| | |",
        "|---|---|",
        f"| date (UTC) | {m.get('date_utc')} |",
        f"| git commit | `{m.get('git_commit')}`{' (uncommitted changes)' if m.get('git_dirty') else ''} |",
        f"| CPU | {m.get('cpu_model')} ({m.get('arch')}) |",
        f"| nproc | {m.get('nproc')} |",
        f"| memory | {f(mem / 1024 / 1024, 1) if mem else 'n/a'} GiB |",
        f"| kernel | {m.get('kernel')} |",
        f"| rustc | {m.get('rustc')} |",
        f"| python | {m.get('python')} |",
        *[f"| sizes run: {part} | {sizes(r[part].get('config', c), part)} |"
          for part in ("dynamo_cdc", "oxbow", "cold_start", "sqs_ingest", "dms_merge") if part in r],
        f"| run time (last bench-all call) | {f(r.get('elapsed_s'), 0)} s |",
        "",
        f"{m.get('note', '')}",
        "",
    ]
    return lines


def headline_md(r):
    """The ratios of each part in a few lines, from the same figures."""
    lines = ["## Headline (ratios from this run)", ""]
    d = r.get("dynamo_cdc")
    if d:
        for storage, v in d["storages"].items():
            rt = v["ratios"]
            lines.append(
                f"- dynamo-cdc vs Python, {storage}: {x(rt['records_per_s_rust_over_python'])} the records/s, "
                f"{x(rt['peak_rss_python_over_rust'])} less peak RSS, {x(rt['init_python_over_rust'])} faster to ready."
            )
    d = r.get("oxbow")
    if d and d.get("sizes"):
        big = max(d["sizes"], key=lambda s: s["files"])
        lines.append(
            f"- oxbow on a {big['files']:,}-file table: warm append {f(big['warm_ms_median'])} ms vs "
            f"{f(big['full_list_per_invocation_ms'])} ms when the full file list is loaded per invocation "
            f"({x(big['full_list_per_invocation_over_warm'])}); checkpoint of the table built in "
            f"{f(big['build'].get('checkpoint_ms'))} ms."
        )
    d = r.get("cold_start")
    if d:
        inits = [v["init_ms_median"] for v in d["functions"] if v.get("init_ms_median") is not None]
        if inits:
            lines.append(f"- cold start (spawn-to-ready): {f(min(inits), 1)} to {f(max(inits), 1)} ms per function.")
        sizes = ", ".join(f"{v['function']} {f(v['zip_bytes'] / 1e6, 1)}" for v in d["functions"] if "zip_bytes" in v)
        lines.append(f"- deployable zip MB (x86_64 host binaries; each one's build in section 3): {sizes}.")
    d = r.get("dms_merge")
    if d:
        for storage, v in d["storages"].items():
            lines.append(
                f"- dms-merge, {storage}: full load {f(v['load_rows_per_s'])} rows/s, CDC "
                f"{f(v['cdc_changes_per_s'])} changes/s (MERGE, {f(v['cdc_file_ms_median'])} ms per "
                f"{d['changes_per_file']:,}-change file), peak RSS {f(mib(v['peak_rss_kb_max']), 1)} MiB."
            )
    d = r.get("sqs_ingest")
    if d:
        for storage, v in d["storages"].items():
            lines.append(
                f"- sqs-ingest, {storage}: {f(v['records_per_s'])} rows/s, {f(v['mb_per_s'], 2)} MB/s, "
                f"peak RSS {f(mib(v['peak_rss_kb_max']), 1)} MiB."
            )
    lines.append("")
    return lines


def dynamo_md(r):
    d = r.get("dynamo_cdc")
    if not d:
        return []
    lines = [
        "## 1. dynamo-cdc vs the published Python approach",
        "",
        f"{d['records']:,} DynamoDB stream records (INSERT/MODIFY/REMOVE, every attribute type) in "
        f"batches of {d['batch']:,}, one warm container per run. Rust: {d['rust']}. "
        f"Python: {d['python']}.",
        "",
        "Rust times exclude the debug driver's encoding of each event for the Runtime API "
        "(Lambda's work, not the function's; raw times and the encoding are in results.json).",
        "",
        "| storage | side | records/s | total ms (median) | ms per batch | peak RSS MiB | spawn-to-ready ms |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for storage, s in d["storages"].items():
        for side in ("rust", "python"):
            v = s[side]
            lines.append(
                f"| {storage} | {side} | {f(v['records_per_s'])} | {f(v['total_ms_median'])} | "
                f"{f(v['batch_ms_median'])} | {f(mib(v['peak_rss_kb_median']), 1)} | {f(v['init_ms_median'], 1)} |"
            )
        rt = s["ratios"]
        ratios.append(
            f"| {storage} | {x(rt['records_per_s_rust_over_python'])} | "
            f"{x(rt['peak_rss_python_over_rust'])} | {x(rt['init_python_over_rust'])} |"
        )
    lines += [
        "",
        "| storage | throughput Rust / Python | peak RSS Python / Rust | cold start Python / Rust |",
        "|---|---|---|---|",
        *ratios,
        "",
    ]
    return lines


def sqs_md(r):
    d = r.get("sqs_ingest")
    if not d:
        return []
    lines = [
        "## 4. sqs-ingest",
        "",
        f"{d['messages']:,} JSON messages ({d['message']}) in batches of {d['batch']:,}, one warm container per run. "
        "Times exclude the debug driver's encoding of each event (raw times in results.json).",
        "",
        "| storage | rows/s | MB/s (message bodies) | total ms (median) | ms per batch | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for storage, v in d["storages"].items():
        lines.append(
            f"| {storage} | {f(v['records_per_s'])} | {f(v['mb_per_s'], 2)} | {f(v['total_ms_median'])} | "
            f"{f(v['batch_ms_median'])} | {f(mib(v['peak_rss_kb_max']), 1)} |"
        )
    lines.append("")
    return lines


def dms_md(r):
    d = r.get("dms_merge")
    if not d:
        return []
    lines = [
        "## 5. dms-merge",
        "",
        f"A DMS full load of {d['load_rows']:,} rows (one CSV file), then {d['cdc_files']} CDC files of "
        f"{d['changes_per_file']:,} changes each. Files: {d['files']}. Method: {d['method']}. "
        "Times exclude the debug driver's encoding of each event (raw times in results.json).",
        "",
        "| storage | full load ms | full-load rows/s | ms per CDC file (MERGE) | CDC changes/s | all rows+changes/s "
        "| peak RSS MiB | spawn-to-ready ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for storage, v in d["storages"].items():
        lines.append(
            f"| {storage} | {f(v['load_ms_median'])} | {f(v['load_rows_per_s'])} | {f(v['cdc_file_ms_median'])} | "
            f"{f(v['cdc_changes_per_s'])} | {f(v['records_per_s'])} | {f(mib(v['peak_rss_kb_max']), 1)} | "
            f"{f(v['init_ms_median'], 1)} |"
        )
    lines.append("")
    return lines


def oxbow_md(r):
    d = r.get("oxbow")
    if not d:
        return []
    lines = [
        "## 2. oxbow vs table size",
        "",
        f"A {d['batch_events']}-event batch (new Parquet files of {d['rows_per_new_file']:,} rows) appended to "
        f"tables of N existing files, {d['storage']}. Method: {d['method']}.",
        "",
        "| files | cold ms (init + 1st batch) | warm ms | full file list per invocation ms | per invocation / warm "
        "| oxbow peak RSS MiB | full list load alone ms | its peak RSS MiB | checkpoint build ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in d["sizes"]:
        lines.append(
            f"| {s['files']:,} | {f(s['cold_ms_median'])} | {f(s['warm_ms_median'])} | "
            f"{f(s['full_list_per_invocation_ms'])} | {x(s['full_list_per_invocation_over_warm'])} | "
            f"{f(mib(s['peak_rss_kb_median']), 1)} | {f(s['full_load_ms_median'])} | "
            f"{f(mib(s['full_load_peak_rss_kb_median']), 1)} | "
            f"{f(s['build'].get('checkpoint_ms'))} |"
        )
    lines += [
        "",
        "Full file list per invocation = the first invocation of a fresh container: it loads the whole snapshot "
        "(checkpoint, every add) and then appends, which is what a stateless oxbow-style tool pays on every "
        "invocation. Meander pays it once per container and keeps the table state warm (warm column). "
        "Full list load alone = deltalake's default table load in its own process (time and peak RSS of the "
        "file list by itself). Checkpoint build = deltalake writing the checkpoint of the table when it was built.",
        "",
    ]
    return lines


def cold_md(r):
    d = r.get("cold_start")
    if not d:
        return []
    lines = [
        "## 3. Cold start and deployable size",
        "",
        f"Method: {d['method']}. Package: {d['package']}."
        + (f" Builds: {d['builds']}." if d.get("builds") else ""),
        "",
        "| function | spawn-to-ready ms (median) | idle RSS MiB | binary MB | zip MB | datafusion linked | built by |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in d["functions"]:
        if v.get("missing"):
            lines.append(f"| {v['function']} | not measured: no binary | | | | | |")
            continue
        linked = v.get("datafusion_linked")
        linked = "n/a" if linked is None else ("yes" if linked else "no") + f" ({v.get('datafusion_paths')} paths)"
        lines.append(
            f"| {v['function']} | {f(v['init_ms_median'], 1)} | {f(mib(v['idle_rss_kb_median']), 1)} | "
            f"{f(v['binary_bytes'] / 1e6, 1)} | {f(v['zip_bytes'] / 1e6, 1)} | {linked} | "
            f"`{v.get('build') or 'one unified build of all functions'}` |"
        )
    lines.append("")
    return lines


def cost_md(r):
    d = r.get("cost")
    if not d or not d.get("rows"):
        return []
    lines = [
        "## 6. Cost per million records (arm64)",
        "",
        f"Price: {d['price_source']}.",
        "",
        "| function | workload | records per invocation | ms per invocation | peak RSS MiB "
        "| smallest tier MB | GB-s per 1M records | $ per 1M records | $ per 1M at 1,769 MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in d["rows"]:
        t = v.get("smallest_tier") or {}
        lines.append(
            f"| {v['function']} | {v['workload']} | {v['records_per_invocation']:,} | {f(v['duration_ms'])} | "
            f"{f(mib(v['peak_rss_kb']), 1)} | {t.get('memory_mb', 'n/a')} | "
            f"{f(t.get('gb_seconds_per_million_records'), 1)} | "
            f"{dollars(t.get('dollars_per_million_records'))} | "
            f"{dollars(v['one_vcpu']['dollars_per_million_records'])} |"
        )
    lines.append("")
    for k, v in d.get("notes", {}).items():
        lines.append(f"- {k}: {v}")
    lines.append("")
    return lines


def plots(r, out):
    made = []
    d = r.get("dynamo_cdc")
    if d:
        storages = list(d["storages"])
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        w = 0.38
        xs = range(len(storages))
        for i, (side, color) in enumerate((("rust", "#d9534f"), ("python", "#337ab7"))):
            axes[0].bar([p + (i - 0.5) * w for p in xs],
                        [d["storages"][s][side]["records_per_s"] for s in storages], w, label=side, color=color)
            axes[1].bar([p + (i - 0.5) * w for p in xs],
                        [mib(d["storages"][s][side]["peak_rss_kb_median"]) for s in storages], w, label=side,
                        color=color)
        axes[0].set_title(f"dynamo-cdc: records/s ({d['records']:,} records)")
        axes[1].set_title("peak RSS (MiB)")
        for a in axes:
            a.set_xticks(list(xs), storages)
            a.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out, "dynamo_cdc_vs_python.png"), dpi=110)
        plt.close(fig)
        made.append("dynamo_cdc_vs_python.png")
    d = r.get("oxbow")
    if d and d.get("sizes"):
        files = [s["files"] for s in d["sizes"]]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        axes[0].plot(files, [s["cold_ms_median"] for s in d["sizes"]], "o-", label="oxbow cold (init + batch)")
        axes[0].plot(files, [s["warm_ms_median"] for s in d["sizes"]], "o-", label="oxbow warm")
        axes[0].plot(files, [s["full_list_per_invocation_ms"] for s in d["sizes"]], "o--",
                     label="full file list per invocation")
        axes[0].plot(files, [nan(s["full_load_ms_median"]) for s in d["sizes"]], "x:", label="full file list load alone")
        axes[0].set_title(f"latency of a {d['batch_events']}-event append (ms)")
        axes[1].plot(files, [mib(s["peak_rss_kb_median"]) for s in d["sizes"]], "o-", label="oxbow peak RSS")
        axes[1].plot(files, [nan(mib(s["full_load_peak_rss_kb_median"])) for s in d["sizes"]], "o--",
                     label="full file list load peak RSS")
        axes[1].set_title("peak RSS (MiB)")
        for a in axes:
            a.set_xscale("log")
            a.set_xlabel("files in the table")
            a.legend()
            a.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "oxbow_scaling.png"), dpi=110)
        plt.close(fig)
        made.append("oxbow_scaling.png")
    d = r.get("cold_start")
    if d:
        fns = [v for v in d["functions"] if not v.get("missing")]
        names = [v["function"] for v in fns]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        axes[0].bar(names, [v["init_ms_median"] for v in fns], color="#5cb85c")
        axes[0].set_title("spawn-to-ready (ms, median)")
        axes[1].bar(names, [v["zip_bytes"] / 1e6 for v in fns], color="#f0ad4e")
        axes[1].set_title("zip size (MB)")
        for a in axes:
            a.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "cold_start.png"), dpi=110)
        plt.close(fig)
        made.append("cold_start.png")
    d = r.get("cost")
    if d and d.get("rows"):
        rows = d["rows"]
        labels = [f"{v['function']}\n{v['workload']}" for v in rows]
        tier = [(v.get("smallest_tier") or {}).get("dollars_per_million_records", 0) for v in rows]
        vcpu = [v["one_vcpu"]["dollars_per_million_records"] for v in rows]
        fig, ax = plt.subplots(figsize=(11, 0.5 * len(rows) + 2))
        ys = range(len(rows))
        ax.barh([y - 0.2 for y in ys], tier, 0.4, label="smallest tier holding the peak")
        ax.barh([y + 0.2 for y in ys], vcpu, 0.4, label="1,769 MB (1 vCPU)")
        ax.set_yticks(list(ys), labels, fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("$ per million records (arm64)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out, "cost_per_million.png"), dpi=110)
        plt.close(fig)
        made.append("cost_per_million.png")
    return made


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    with open(os.path.join(out, "results.json")) as fh:
        r = json.load(fh)
    made = plots(r, out)
    lines = [
        "# Meander benchmarks: results",
        "",
        "Written by `bash bench/run.sh` (bench/README.md) from results.json of the same run.",
        "",
    ]
    lines += machine_md(r) + headline_md(r) + dynamo_md(r) + oxbow_md(r) + cold_md(r) + sqs_md(r) + dms_md(r) + cost_md(r)
    lines += ["## Plots", ""] + [f"![{m}]({m})" for m in made] + [""]
    with open(os.path.join(out, "results.md"), "w") as fh:
        fh.write("\n".join(lines))
    print(os.path.join(out, "results.md"))


if __name__ == "__main__":
    main()
