#!/usr/bin/env python3
"""bench.py - the helpers of tests/bench/run.sh (standard library only).

    bench.py message SIZE FROM TO          an unsigned test message (LF lines)
    bench.py extract SINKFILE              a signed message as it left the
                                           signer, without trace fields
    bench.py measure SINKOUT N TIMEOUT CMD...
                                           run CMD (smtp-source), time until
                                           the sink counted N more messages
    bench.py latency HOST PORT FROM TO FILE WARMUP COUNT
                                           per-transaction times of one
                                           sequential SMTP client
    bench.py percentiles FILE              p50/p99 of numbers, one a line
    bench.py report RUNS META OUTDIR       medians, ratios, tables: writes
                                           latest.md, latest.json and a
                                           dated copy of each in OUTDIR

measure and latency print one JSON object; report prints the markdown.
"""

import json
import os
import re
import smtplib
import statistics
import subprocess
import sys
import time
from email.utils import formatdate

# --- test messages -------------------------------------------------------

WORDS = ("the quick brown fox jumps over a lazy dog while preflight checks "
         "outbound mail before it leaves and asks whether the receiver would "
         "refuse or throttle it").split()


def body_text(size):
    """Plain text lines of up to 72 characters, size bytes with newlines."""
    out, n, i = [], 0, 0
    while n < size:
        line, w = [], 0
        while True:
            word = WORDS[i % len(WORDS)]
            i += 1
            if w + len(word) + 1 > 72:
                break
            line.append(word)
            w += len(word) + 1
        text = " ".join(line)[: max(0, size - n - 1)] + "\n"
        out.append(text)
        n += len(text)
    return "".join(out)


def cmd_message(size, sender, rcpt):
    """An unsigned bulk-style message: the signer adds DKIM-Signature."""
    hdr = [
        "From: Preflight Bench <%s>" % sender,
        "To: <%s>" % rcpt,
        "Subject: preflight benchmark, %d bytes" % int(size),
        "Date: %s" % formatdate(localtime=False),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "List-Id: <bench.%s>" % sender.split("@")[1],
        "List-Unsubscribe: <https://%s/unsubscribe/bench>"
        % sender.split("@")[1],
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ]
    sys.stdout.write("\n".join(hdr) + "\n\n" + body_text(int(size)))


# Fields the sink, the MTA or the signing pass added that a sent copy
# must not carry: smtp-sink's envelope lines, trace fields, and the
# Message-ID Postfix made (each benchmark message gets its own).
DROP = re.compile(r"^(x-client-[a-z]+|x-helo-args|x-mail-args|x-rcpt-args|"
                  r"received|message-id|return-path):", re.I)


def cmd_extract(path):
    with open(path, encoding="ascii", errors="surrogateescape") as f:
        text = f.read().replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    fields, cur = [], None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur.append(line)
        else:
            cur = [line]
            fields.append(cur)
    kept = ["\n".join(f) for f in fields if not DROP.match(f[0])]
    if not any(f.lower().startswith("dkim-signature:") for f in kept):
        sys.exit("extract: %s has no DKIM-Signature" % path)
    sys.stdout.write("\n".join(kept) + "\n\n" + body)


# --- throughput ------------------------------------------------------------


def sink_count(path):
    """smtp-sink -c's last complete counter line: mesg=N (0 if none)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256))
            data = f.read().decode("ascii", "replace")
    except OSError:
        return 0
    recs = data.split("\r")
    for rec in reversed(recs[:-1]):  # the part after the last \r may be cut
        m = re.search(r"mesg=(\d+)", rec)
        if m:
            return int(m.group(1))
    return 0


def cmd_measure(sinkout, n, timeout, cmd):
    n, timeout = int(n), float(timeout)
    base = sink_count(sinkout)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    t_inject, rc, got = None, None, 0
    while True:
        got = sink_count(sinkout) - base
        if rc is None and proc.poll() is not None:
            rc, t_inject = proc.returncode, time.perf_counter() - t0
        if got >= n:
            break
        if time.perf_counter() - t0 > timeout or (rc not in (None, 0)):
            break
        time.sleep(0.01)
    t_end = time.perf_counter() - t0
    if rc is None:
        try:
            rc = proc.wait(timeout=max(1.0, timeout - t_end))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        t_inject = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    ok = rc == 0 and got >= n
    print(json.dumps({
        "ok": ok, "seconds": round(t_end, 4),
        "inject_seconds": round(t_inject, 4), "delivered": got,
        "msgs_per_s": round(n / t_end, 2) if ok else None,
        "rc": rc, "error": err[-300:] if err else ""}))


# --- latency -------------------------------------------------------------------


def pct(values, q):
    """The q-quantile (nearest rank) of a non-empty list."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-q * len(v) // 1)) - 1))
    return v[k]


def cmd_latency(host, port, sender, rcpt, path, warmup, count):
    with open(path, "rb") as f:
        data = f.read()
    times = []
    for i in range(int(warmup) + int(count)):
        t0 = time.perf_counter()
        s = smtplib.SMTP(host, int(port), local_hostname="client.bench.test",
                         timeout=60)
        s.ehlo()
        s.mail(sender)
        s.rcpt(rcpt)
        code, msg = s.data(data)
        t1 = time.perf_counter()
        s.quit()
        if code != 250:
            sys.exit("latency: %d %s" % (code, msg))
        if i >= int(warmup):
            times.append((t1 - t0) * 1000.0)
    print(json.dumps({
        "n": len(times), "p50_ms": round(pct(times, 0.5), 3),
        "p90_ms": round(pct(times, 0.9), 3),
        "p99_ms": round(pct(times, 0.99), 3),
        "mean_ms": round(statistics.fmean(times), 3)}))


def cmd_percentiles(path):
    with open(path) as f:
        v = [float(x) for x in f.read().split()]
    if not v:
        print(json.dumps({"n": 0}))
        return
    print(json.dumps({"n": len(v), "p50": pct(v, 0.5), "p99": pct(v, 0.99),
                      "mean": round(statistics.fmean(v), 1)}))


# --- the report ------------------------------------------------------------------

SCENARIOS = {  # name: (label, socket)
    "postfix": ("Postfix alone", "-"),
    "noop-unix": ("no-op milter", "unix"),
    "noop-inet": ("no-op milter", "inet"),
    "noopeom-unix": ("no-op milter, whole message", "unix"),
    "noopeom-inet": ("no-op milter, whole message", "inet"),
    "noopeng-unix": ("no-op on preflight's engine, whole message", "unix"),
    "noopeng-inet": ("no-op on preflight's engine, whole message", "inet"),
    "pfl-lmdb-unix": ("preflight, LMDB", "unix"),
    "pfl-lmdb-inet": ("preflight, LMDB", "inet"),
    "pfl-redis-unix": ("preflight, Redis", "unix"),
    "pfl-redis-inet": ("preflight, Redis", "inet"),
    "pair-unix": ("OpenDKIM + OpenDMARC", "unix"),
    "pair-inet": ("OpenDKIM + OpenDMARC", "inet"),
}


def size_label(b):
    return "%g KB" % (b / 1024.0) if b % 1024 == 0 else "%d B" % b


def load_runs(path):
    runs = []
    with open(path) as f:
        for line in f:
            if line.strip():
                runs.append(json.loads(line))
    return runs


def summarise(runs, meta):
    """Per scenario and size: median msg/s, per-repetition ratios."""
    base = {(r["rep"], r["size"]): r["msgs_per_s"] for r in runs
            if r["scenario"] == "postfix" and r.get("ok")}
    out = []
    for size in meta["sizes"]:
        for sc in meta["scenarios"]:
            rs = [r for r in runs if r["scenario"] == sc and r["size"] == size]
            good = [r for r in rs if r.get("ok")]
            mps = [r["msgs_per_s"] for r in good]
            ratios = [r["msgs_per_s"] / base[(r["rep"], size)] for r in good
                      if base.get((r["rep"], size))]
            cpu = [r["milter_cpu_s"] * 1e6 / r["n"] for r in good
                   if r.get("milter_cpu_s") is not None]
            dnsq = [(r["dns_queries"] + r["rbl_queries"]) / r["n"]
                    for r in good if r.get("dns_queries") is not None]
            idle = [r["idle_pct"] for r in good if r.get("idle_pct") is not None]
            load = [r["loadavg1"] for r in good if r.get("loadavg1") is not None]
            out.append({
                "scenario": sc, "label": SCENARIOS.get(sc, (sc, "?"))[0],
                "socket": SCENARIOS.get(sc, (sc, "?"))[1], "size": size,
                "runs": len(rs), "failed": len(rs) - len(good),
                "msgs_per_s": mps,
                "median_msgs_per_s": round(statistics.median(mps), 1)
                if mps else None,
                "ratios": [round(x, 3) for x in ratios],
                "median_ratio": round(statistics.median(ratios), 3)
                if ratios else None,
                "milter_cpu_us_per_msg": round(statistics.median(cpu))
                if cpu else None,
                "idle_pct": round(statistics.median(idle), 1) if idle else None,
                "loadavg1": round(statistics.median(load), 2) if load else None,
                "dns_queries_per_msg": round(statistics.median(dnsq), 4)
                if dnsq else None,
            })
    return out


def find(summary, sc, size):
    for s in summary:
        if s["scenario"] == sc and s["size"] == size:
            return s
    return None


def targets(summary, meta, rss, lat):
    """The targets of the Performance section, each met or missed."""
    res = []
    for sock in ("unix", "inet"):
        for size in meta["sizes"]:
            noop = find(summary, "noop-" + sock, size)
            eng = find(summary, "noopeng-" + sock, size)
            pair = find(summary, "pair-" + sock, size)
            for store in ("lmdb", "redis"):
                p = find(summary, "pfl-%s-%s" % (store, sock), size)
                if not p or p["median_ratio"] is None:
                    continue
                if noop and noop["median_ratio"]:
                    v = p["median_ratio"] / noop["median_ratio"]
                    res.append({"target": "preflight (%s, %s, %s) >= 0.9x "
                                "the no-op milter" % (store, sock,
                                                      size_label(size)),
                                "value": round(v, 2), "met": v >= 0.9})
                if eng and eng["median_ratio"]:
                    v = p["median_ratio"] / eng["median_ratio"]
                    res.append({"target": "preflight (%s, %s, %s) >= 0.9x "
                                "the no-op on its engine, whole message "
                                "(the floor of a milter that reads it)"
                                % (store, sock, size_label(size)),
                                "value": round(v, 2), "met": v >= 0.9})
                if pair and pair["median_ratio"]:
                    v = p["median_ratio"] / pair["median_ratio"]
                    res.append({"target": "preflight (%s, %s, %s) >= 2x "
                                "OpenDKIM+OpenDMARC" % (store, sock,
                                                        size_label(size)),
                                "value": round(v, 2), "met": v >= 2.0})
    for name, r in sorted(rss.items()):
        if name.startswith("pfl-") and r.get("vmhwm_kb"):
            v = r["vmhwm_kb"] / 1024.0
            res.append({"target": "%s peak RSS < 30 MB at %d sessions"
                        % (name, r["sessions"]), "value": round(v, 1),
                        "met": v < 30})
    for name, r in sorted(lat.items()):
        if not name.startswith("pfl-"):
            continue
        if r.get("added_p99_ms") is not None:
            v = r["added_p99_ms"]
            res.append({"target": "%s added latency p99 < 2 ms (warm; client "
                        "side, minus Postfix alone)" % name,
                        "value": v, "met": v < 2.0})
        if r.get("milter_p99_us") is not None:
            v = r["milter_p99_us"] / 1000.0
            res.append({"target": "%s milter's own time p99 < 2 ms (warm; "
                        "its timing lines)" % name, "value": v, "met": v < 2.0})
    for s in summary:
        if s["scenario"].startswith("pfl-") and \
                s["dns_queries_per_msg"] is not None:
            res.append({"target": "%s %s: 0 DNS queries/message at steady "
                        "state" % (s["scenario"], size_label(s["size"])),
                        "value": s["dns_queries_per_msg"],
                        "met": s["dns_queries_per_msg"] < 0.01})
    return res


def mb(kb):
    return None if kb is None else kb / 1024.0


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def markdown(meta, summary, rss, lat, tg, budget):
    m = meta["machine"]
    L = []
    L.append("# preflight benchmark, %s" % meta["date"])
    L.append("")
    L.append("Machine: %d cores, %s, kernel %s, %s memory; load average "
             "%s at start.%s" % (m["cores"], m["cpu"], m["kernel"], m["mem"],
                                 m["loadavg"], (" " + meta["note"])
                                 if meta.get("note") else ""))
    L.append("")
    L.append("Source: %s (%s)." % (meta.get("source", "?"),
                                  meta.get("version", "?")))
    L.append("")
    L.append("Each run: `smtp-source` sends N=%d messages over S=%d parallel "
             "sessions (%s) to a private Postfix on loopback, which relays "
             "them to `smtp-sink`; msg/s is N divided by the time until the "
             "sink has counted all N. %d repetition(s), scenarios "
             "interleaved (order rotated) within each, after %d warm-up "
             "messages per run. Sizes (payload): %s."
             % (meta["n"], meta["sessions"],
                "one message per connection" if not meta["keep_conn"]
                else "several messages per connection", meta["reps"],
                meta["warmup"], ", ".join(size_label(s)
                                          for s in meta["sizes"])))
    L.append("")
    L.append("## Throughput")
    L.append("")
    L.append("Median msg/s over the repetitions; x Postfix alone is the "
             "median of the per-repetition ratios to Postfix alone measured "
             "in the same repetition (the range in brackets). milter CPU: "
             "CPU time of the milter processes per message; idle: the "
             "machine's idle CPU during the run; load: the 1-minute load "
             "average as the run started (other work on the machine shows "
             "here); DNS q/msg: queries that reached nsd and rbldnsd, per "
             "message. Medians over the repetitions.")
    L.append("")
    L.append("| scenario | socket | size | msg/s | x Postfix alone | "
             "milter CPU us/msg | idle % | load | DNS q/msg |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        rng = ""
        if len(s["ratios"]) > 1:
            rng = " [%.2f-%.2f]" % (min(s["ratios"]), max(s["ratios"]))
        fail = " (%d failed)" % s["failed"] if s["failed"] else ""
        L.append("| %s | %s | %s | %s%s | %s%s | %s | %s | %s | %s |" % (
            s["label"], s["socket"], size_label(s["size"]),
            fmt(s["median_msgs_per_s"]), fail, fmt(s["median_ratio"], "%.2f"),
            rng, fmt(s["milter_cpu_us_per_msg"], "%d"), fmt(s["idle_pct"]),
            fmt(s["loadavg1"], "%.1f"), fmt(s["dns_queries_per_msg"], "%.3f")))
    if rss:
        L.append("")
        L.append("## Memory")
        L.append("")
        L.append("Peak resident memory (VmHWM, reset before the run) of each "
                 "milter process over a run of %d messages of %s at S=%d "
                 "sessions." % (meta["rss_n"], size_label(meta["rss_size"]),
                                meta["rss_sessions"]))
        L.append("")
        L.append("RSS after: the resident memory when the run was over, "
                 "and of it anonymous memory (heap, stacks) and file pages "
                 "(the program and its libraries, an LMDB map).")
        L.append("")
        L.append("| milter | peak RSS MB | RSS after MB | anon MB | file MB "
                 "| threads | msg/s |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in sorted(rss.items()):
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, fmt(mb(r.get("vmhwm_kb"))), fmt(mb(r.get("vmrss_kb"))),
                fmt(mb(r.get("rss_anon_kb"))), fmt(mb(r.get("rss_file_kb"))),
                fmt(r.get("threads"), "%d"), fmt(r.get("msgs_per_s"))))
    if lat:
        L.append("")
        L.append("## Latency")
        L.append("")
        L.append("One client, one message per connection, %d messages after "
                 "%d warm-up, %s: time from connect to the reply to the end "
                 "of DATA. added = the scenario's percentile minus Postfix "
                 "alone's. milter p50/p99: preflight's own time per message "
                 "(its timing lines: every callback, connect to end of "
                 "message), where it logs them."
                 % (meta["lat_n"], meta["lat_warmup"],
                    size_label(meta["lat_size"])))
        L.append("")
        L.append("| scenario | p50 ms | p99 ms | added p50 ms | added p99 ms "
                 "| milter p50 us | milter p99 us |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for name in meta["scenarios"]:
            r = lat.get(name)
            if not r:
                continue
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, fmt(r["p50_ms"], "%.2f"), fmt(r["p99_ms"], "%.2f"),
                fmt(r.get("added_p50_ms"), "%.2f"),
                fmt(r.get("added_p99_ms"), "%.2f"),
                fmt(r.get("milter_p50_us"), "%d"),
                fmt(r.get("milter_p99_us"), "%d")))
    if tg:
        L.append("")
        L.append("## Targets")
        L.append("")
        L.append("| target | measured | met |")
        L.append("|---|---:|---|")
        for t in tg:
            L.append("| %s | %s | %s |" % (t["target"], t["value"],
                                           "yes" if t["met"] else "**no**"))
    if budget:
        L.append("")
        L.append("## Store microbenchmark (bench_budget)")
        L.append("")
        L.extend("    " + b for b in budget)
    if meta.get("sanity"):
        L.append("")
        L.append("## What each scenario decided (one message, before the runs)")
        L.append("")
        L.extend("    " + s for s in meta["sanity"])
    return "\n".join(L) + "\n"


def cmd_report(runs_path, meta_path, outdir):
    with open(meta_path) as f:
        meta = json.load(f)
    runs = load_runs(runs_path)
    rss = meta.pop("rss", {})
    lat = meta.pop("latency", {})
    budget = meta.pop("budget", [])
    summary = summarise(runs, meta)
    tg = targets(summary, meta, rss, lat)
    doc = {"meta": meta, "summary": summary, "rss": rss, "latency": lat,
           "targets": tg, "store_microbenchmark": budget, "runs": runs}
    md = markdown(meta, summary, rss, lat, tg, budget)
    os.makedirs(outdir, exist_ok=True)
    stamp = meta["stamp"]
    for name in ("latest", stamp):
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        with open(os.path.join(outdir, name + ".md"), "w") as f:
            f.write(md)
    sys.stdout.write(md)


def main(argv):
    cmds = {"message": (cmd_message, 3), "extract": (cmd_extract, 1),
            "latency": (cmd_latency, 7), "percentiles": (cmd_percentiles, 1),
            "report": (cmd_report, 3)}
    if len(argv) >= 4 and argv[0] == "measure":
        return cmd_measure(argv[1], argv[2], argv[3], argv[4:])
    if not argv or argv[0] not in cmds or len(argv) - 1 != cmds[argv[0]][1]:
        sys.exit(__doc__)
    return cmds[argv[0]][0](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
