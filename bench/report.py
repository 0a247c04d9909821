#!/usr/bin/env python3
"""Record and summarise benchmark results for bench/run (standard library only).

usage: report.py record RUN_ID MODE NAME WALL_S LOAD_BEFORE LOG COMMAND >> results.jsonl
       report.py driver RUN_ID MODE WALL_S COMMAND >> results.jsonl   the whole run
       report.py table RUN_ID [results.jsonl]     print the summary table (Markdown)
       report.py svg RUN_ID OUT.svg [results.jsonl]   log-log plot of latency vs size

`record` turns one benchmark's log into one JSON object: the run id, date,
mode, machine (cores, CPU model, load average before and after), the
command, its wall time and the parsed results (the "RESULT {json}" lines the
programs print, the replay's JSON, or the lines of the Python and search
latency scripts).
"""
from __future__ import annotations

import datetime
import json
import math
import os
import re
import sys
from typing import Any, Dict, List, Optional, Tuple


def machine(load_before: str) -> Dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": cpu,
            "load_before": [round(float(x), 2) for x in load_before.split()[:3]],
            "load_after": [round(x, 2) for x in os.getloadavg()]}


def parse_results(name: str, text: str) -> List[Dict[str, Any]]:
    out = [json.loads(l[7:]) for l in text.splitlines() if l.startswith("RESULT ")]
    if name.startswith("replay"):
        start = text.find("{")
        if start >= 0:
            d = json.loads(text[start:text.rfind("}") + 1])
            out.append({"bench": "replay", "budget": d["budget"],
                        "evidence_recall": d["evidence_recall"],
                        "recency_recall": d["baselines"]["recency"]["evidence_recall"],
                        "budget_violations": d["budget_violations"],
                        "latency_p50_ms": d["latency_us"]["p50"] / 1e3,
                        "latency_p99_ms": d["latency_us"]["p99"] / 1e3,
                        "wall_s": d["wall_seconds"], "windows": d["windows"],
                        "questions": d["questions"], "per_category": d["per_category"]})
    elif name == "python":
        r: Dict[str, Any] = {"bench": "python"}
        for key, label in (("c", "C:"), ("py", "Python: session.window()  "),
                           ("py_parse", "Python: session.window() +")):
            m = re.search(re.escape(label) + r".*?wall\s+([\d.]+) us\s+cpu\s+([\d.]+) us", text)
            if m:
                r[key + "_wall_us"], r[key + "_cpu_us"] = float(m.group(1)), float(m.group(2))
        for key in ("py", "py+parse"):
            m = re.search(r"ratio " + re.escape(key) + r"\s+/ C: wall ([\d.]+)\s+cpu ([\d.]+)",
                          text)
            if m:
                k = key.replace("+", "_")
                r[k + "_ratio_wall"], r[k + "_ratio_cpu"] = float(m.group(1)), float(m.group(2))
        m = re.search(r"store: (\d+) segments", text)
        r["segments"] = int(m.group(1)) if m else None
        out.append(r)
    elif name == "search_latency":
        for line in text.splitlines():
            f = line.split()
            if len(f) == 7 and f[0].isdigit():
                out.append({"bench": "search_latency", "segments": int(f[0]),
                            "ingest_s": float(f[1]), "first_ms": float(f[2]),
                            "p50_ms": float(f[3]), "p99_ms": float(f[4]),
                            "floor_p50_ms": float(f[5]), "floor_p99_ms": float(f[6])})
    elif name == "locomo_recall":
        for line in text.splitlines():
            f = line.split()
            if len(f) == 6 and f[0] in ("hybrid", "bm25", "vector", "recency"):
                out.append({"bench": "locomo_recall", "ranking": f[0], "all": float(f[1]),
                            "cat1": float(f[2]), "cat2": float(f[3]), "cat3": float(f[4]),
                            "cat4": float(f[5])})
    return out


def record(argv: List[str]) -> int:
    run_id, mode, name, wall, load_before, log, command = argv
    text = open(log, encoding="utf-8", errors="replace").read()
    obj = {"run": run_id, "date": datetime.datetime.now().astimezone().isoformat(
        timespec="seconds"), "mode": mode, "bench": name, "machine": machine(load_before),
        "command": command, "wall_s": round(float(wall), 2),
        "skipped": "SKIPPED" in text.splitlines()[0] if text else False,
        "results": parse_results(name, text)}
    print(json.dumps(obj))
    return 0


def load(run_id: str, path: str) -> List[Dict[str, Any]]:
    with open(path) as f:
        return [r for r in map(json.loads, filter(str.strip, f)) if r["run"] == run_id]


def rows_of(recs: List[Dict[str, Any]], bench: str) -> List[Dict[str, Any]]:
    return [r for rec in recs for r in rec["results"] if r.get("bench") == bench]


def verdict(value: float, target: float, lower_is_better: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    ok = value <= target if lower_is_better else value >= target
    if ok:
        return "met"
    by = value / target if lower_is_better else target / value if value else float("inf")
    return f"NOT met ({by:.2f}x off)"


def fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


SCALE_TARGET_MS = {10000: 1.0, 100000: 5.0, 1000000: 25.0}
SEARCH_TARGET_MS = {10000: 1.0, 100000: 5.0}


Row = Tuple[str, str, str, str, str, str]


def tokenizer_rows(recs: List[Dict[str, Any]]) -> List[Row]:
    t: List[Row] = []
    for r in rows_of(recs, "tokenizer"):
        for op in ("count", "encode"):
            ratio = r[f"ratio_{op}"]
            v = verdict(ratio, 5.0, False) if r["tokens_equal"] else "NOT met (tokens differ)"
            t.append((f"tokenizer {r['encoding']} {r['chunking']} {op}",
                      f"{r[f'ctxmem_{op}_mb_s']:.1f} MB/s",
                      f"{r['wasm_mb_s']:.1f} MB/s (tiktoken WASM)", f"{ratio:.1f}x",
                      ">= 5x, exact", v))
    for r in rows_of(recs, "tokenizer_load"):
        if r["encoding"] == "o200k_base":
            ok = r["ctxmem_ms"] <= 150 and r["ctxmem_rss_mib"] <= 40
            t.append(("tokenizer o200k_base load",
                      f"{r['ctxmem_ms']} ms, +{r['ctxmem_rss_mib']} MiB",
                      f"{r['wasm_ms']} ms (WASM get_encoding)", "-", "<= 150 ms, <= 40 MiB",
                      "met" if ok else "NOT met"))
    return t


def ingest_rows(recs: List[Dict[str, Any]]) -> List[Row]:
    t: List[Row] = []
    for r in rows_of(recs, "ingest"):
        t.append((f"ingest batch 100, {r['mode']}", f"{r['ctxmem_seg_per_s']:,.0f} seg/s",
                  f"{r['lmdb_seg_per_s']:,.0f} seg/s (raw LMDB)", f"{r['ratio']:.3f}",
                  ">= 0.5", verdict(r["ratio"], 0.5, False)))
    for r in rows_of(recs, "ingest_single"):
        t.append(("single durable add p50 / p99",
                  f"{r['ctxmem_p50_ms']:.2f} / {r['ctxmem_p99_ms']:.2f} ms",
                  f"{r['lmdb_p50_ms']:.2f} / {r['lmdb_p99_ms']:.2f} ms (LMDB put+sync)",
                  f"{r['ratio_p50']:.2f} / {r['ratio_p99']:.2f}", "none", "-"))
    return t


def latency_rows(r: Dict[str, Any]) -> List[Row]:
    n = r["segments"]
    tgt = SEARCH_TARGET_MS.get(n)
    search = (f"search p99 @{n:,}", f"{r['search_p99_ms']:.3f} ms (p50 {r['search_p50_ms']:.3f})",
              f"{r['search_floor_p99_ms']:.3f} ms (p50 {r['search_floor_p50_ms']:.3f})",
              f"{r['search_p99_ms'] / r['search_floor_p99_ms']:.1f}x",
              f"<= {tgt:g} ms" if tgt else "-",
              verdict(r["search_p99_ms"], tgt, True) if tgt else "-")
    tgt = SCALE_TARGET_MS.get(n)
    ratio = r["window_p99_ms"] / r["window_floor_p99_ms"]
    v1 = verdict(r["window_p99_ms"], tgt, True) if tgt else "-"
    window = (f"assembly p99 @{n:,} (4,096 tokens)",
              f"{r['window_p99_ms']:.3f} ms (p50 {r['window_p50_ms']:.3f})",
              f"{r['window_floor_p99_ms']:.3f} ms (p50 {r['window_floor_p50_ms']:.3f}; "
              f"FAISS k={r['window_floor_k']} + LMDB)", f"{ratio:.1f}x",
              (f"<= {tgt:g} ms; " if tgt else "") + "<= 1.5x floor",
              f"{v1}; ratio {verdict(ratio, 1.5, True)}")
    return [search, window]


def memory_rows(r: Dict[str, Any], rb: Optional[Dict[str, Any]],
                warm: Optional[Dict[str, Any]]) -> List[Row]:
    n, at_1m = r["segments"], r["segments"] == 1000000
    limit = 1.2 * r["vector_mib"] + 64
    split = (f" (anon {r['rss_anon_mib']:.0f}, LMDB file pages {r['rss_file_mib']:.0f})"
             if "rss_anon_mib" in r else "")
    floor = (f"; floor process {r['floor_peak_rss_mib']:.0f} MiB (anon "
             f"{r['floor_rss_anon_mib']:.0f}, file {r['floor_rss_file_mib']:.0f})"
             if r.get("floor_peak_rss_mib", -1) > 0 else "")
    rss = (f"peak RSS @{n:,}", f"{r['peak_rss_mib']:.0f} MiB{split}",
           f"{r['vector_mib']:.0f} MiB vectors{floor}",
           f"{r['peak_rss_mib'] / limit:.2f} of limit",
           f"<= {limit:.0f} MiB" if at_1m else f"(1.2 x vectors + 64 = {limit:.0f} MiB)",
           verdict(r["peak_rss_mib"], limit, True) if at_1m else "info")
    ref = (f"rebuild: open {rb['open_ms']:.0f} + first search {rb['first_search_ms']:.0f} ms"
           if rb else "-")
    first = r["open_ms"] + r["first_search_ms"]
    again = warm["open_ms"] + warm["first_search_ms"] if warm else None
    opened = (f"open + first search @{n:,}",
              f"{r['open_ms']:.0f} + {r['first_search_ms']:.0f} ms (cache load)"
              + (f"; again, files cached: {warm['open_ms']:.0f} + "
                 f"{warm['first_search_ms']:.0f} ms" if warm else ""), ref, "-",
              "<= 1000 ms" if at_1m else "-",
              (f"first {verdict(first, 1000.0, True)}"
               + (f"; again {verdict(again, 1000.0, True)}" if warm else "")) if at_1m else "info")
    return [rss, opened]


def scale_rows(recs: List[Dict[str, Any]]) -> List[Row]:
    scale = sorted(rows_of(recs, "scale"), key=lambda r: r["segments"])
    rebuild = {r["segments"]: r for r in rows_of(recs, "scale_rebuild")}
    warm = {r["segments"]: r for r in rows_of(recs, "scale_open_warm")}
    t = [row for r in scale for row in latency_rows(r)]
    t += [(f"vector index recall@20 / @100 @{r['segments']:,}",
           f"{r['recall_at_20']:.3f} / {r['recall_at_100']:.3f}",
           f"exhaustive search ({r['index']}, {r['file_bytes_per_vector']:.0f} B per vector)",
           "-", "none set", "info")
          for r in sorted(rows_of(recs, "vector_recall"), key=lambda r: r["segments"])]
    return t + [row for r in scale
                for row in memory_rows(r, rebuild.get(r["segments"]), warm.get(r["segments"]))]


def replay_rows(recs: List[Dict[str, Any]]) -> List[Row]:
    t: List[Row] = []
    for r in rows_of(recs, "replay"):
        recall, b = r["evidence_recall"], r["budget"]
        ok = r["budget_violations"] == 0 and (b != 2048 or recall >= 0.75)
        t.append((f"LoCoMo replay budget {b}",
                  f"recall {recall:.3f}, wall {r['wall_s']:.0f} s, "
                  f"p99 {r['latency_p99_ms']:.1f} ms",
                  f"recency {r['recency_recall']:.3f}",
                  f"{recall / max(r['recency_recall'], 1e-9):.1f}x",
                  "0 budget violations" + ("; recall >= 0.75" if b == 2048 else ""),
                  "met" if ok else
                  f"NOT met ({r['budget_violations']} violations, recall {recall:.3f})"))
    for r in rows_of(recs, "locomo_recall"):
        if r["ranking"] in ("hybrid", "recency"):
            hybrid = r["ranking"] == "hybrid"
            t.append((f"LoCoMo retrieval-only recall @2048, {r['ranking']}", f"{r['all']:.3f}",
                      "-", "-", ">= 0.75" if hybrid else "baseline",
                      verdict(r["all"], 0.75, False) if hybrid else "-"))
    return t


def other_rows(recs: List[Dict[str, Any]]) -> List[Row]:
    t: List[Row] = []
    for r in rows_of(recs, "search_latency"):
        n = r["segments"]
        tgt = SEARCH_TARGET_MS.get(n)
        t.append((f"search_latency.c p99 @{n:,} (no stop words)", f"{r['p99_ms']:.3f} ms",
                  f"{r['floor_p99_ms']:.3f} ms", f"{r['p99_ms'] / r['floor_p99_ms']:.1f}x",
                  f"<= {tgt:g} ms" if tgt else "-",
                  verdict(r["p99_ms"], tgt, True) if tgt else "-"))
    for r in rows_of(recs, "python"):
        if "py_ratio_cpu" in r:
            t.append((f"Python session.window() @{r['segments']:,}",
                      f"{r['py_cpu_us']:.0f} us CPU", f"{r['c_cpu_us']:.0f} us CPU (C)",
                      f"{r['py_ratio_cpu']:.3f}", "<= 1.3",
                      verdict(r["py_ratio_cpu"], 1.3, True)))
    for rec in recs:
        if rec["skipped"]:
            t.append((rec["bench"], "skipped", "-", "-", "-", "not measured"))
    return t


def table(recs: List[Dict[str, Any]]) -> List[Row]:
    """(benchmark, value, reference, ratio, target, verdict) rows."""
    return (tokenizer_rows(recs) + ingest_rows(recs) + scale_rows(recs) + replay_rows(recs) +
            other_rows(recs))


def driver(argv: List[str]) -> int:
    run_id, mode, wall, command = argv
    obj = {"run": run_id, "date": datetime.datetime.now().astimezone().isoformat(
        timespec="seconds"), "mode": mode, "bench": "driver", "machine": machine(
        " ".join(str(x) for x in os.getloadavg())), "command": command,
        "wall_s": round(float(wall), 2), "skipped": False, "results": []}
    print(json.dumps(obj))
    return 0


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = sys.argv[1]
    if cmd == "record":
        return record(sys.argv[2:])
    if cmd == "driver":
        return driver(sys.argv[2:])
    here = os.path.dirname(os.path.abspath(__file__))
    if cmd == "table":
        path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "results.jsonl")
        recs = load(sys.argv[2], path)
        print("| benchmark | value | reference (same run) | ratio | target | met? |")
        print("|---|---|---|---|---|---|")
        for row in table(recs):
            print("| " + " | ".join(row) + " |")
        return 0
    if cmd == "svg":
        path = sys.argv[4] if len(sys.argv) > 4 else os.path.join(here, "results.jsonl")
        return svg(load(sys.argv[2], path), sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


def svg(recs: List[Dict[str, Any]], out: str) -> int:
    rows = sorted(rows_of(recs, "scale"), key=lambda r: r["segments"])
    if len(rows) < 2:
        return 0
    series = [("search_p99_ms", "search p99", "#1f77b4", ""),
              ("search_floor_p99_ms", "search floor p99", "#1f77b4", "6,4"),
              ("window_p99_ms", "assembly p99", "#d62728", ""),
              ("window_floor_p99_ms", "assembly floor p99", "#d62728", "6,4"),
              ("window_p50_ms", "assembly p50", "#ff9896", "")]
    W, H, L, R, T, B = 640, 400, 60, 170, 20, 50
    xs = [math.log10(r["segments"]) for r in rows]
    ys = [math.log10(max(r[k], 1e-3)) for r in rows for k, *_ in series]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
    px = lambda x: L + (x - x0) / max(x1 - x0, 1) * (W - L - R)
    py = lambda y: H - B - (y - y0) / max(y1 - y0, 1) * (H - T - B)
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>']
    for e in range(x0, x1 + 1):
        p.append(f'<line x1="{px(e):.1f}" y1="{T}" x2="{px(e):.1f}" y2="{H - B}" stroke="#ddd"/>')
        p.append(f'<text x="{px(e):.1f}" y="{H - B + 15}" text-anchor="middle">1e{e}</text>')
    for e in range(y0, y1 + 1):
        p.append(f'<line x1="{L}" y1="{py(e):.1f}" x2="{W - R}" y2="{py(e):.1f}" stroke="#ddd"/>')
        p.append(f'<text x="{L - 5}" y="{py(e) + 4:.1f}" text-anchor="end">{10.0 ** e:g} ms</text>')
    p.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">segments in the scope '
             f'(log)</text>')
    for i, (k, label, colour, dash) in enumerate(series):
        pts = " ".join(f"{px(math.log10(r['segments'])):.1f},{py(math.log10(max(r[k], 1e-3))):.1f}"
                       for r in rows)
        p.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2" '
                 f'stroke-dasharray="{dash}"/>')
        ly = T + 15 + 16 * i
        p.append(f'<line x1="{W - R + 10}" y1="{ly}" x2="{W - R + 35}" y2="{ly}" stroke="{colour}" '
                 f'stroke-width="2" stroke-dasharray="{dash}"/>')
        p.append(f'<text x="{W - R + 40}" y="{ly + 4}">{label}</text>')
    p.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(p) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
