# soak.py - the SMTP client and the accounting of tests/soak/run.sh.
#
#   soak.py send PORT SESSIONS RUN PHASE FIRST COUNT OUT [ONLY-CLASS]
#       COUNT messages, numbered FIRST.., over SESSIONS concurrent SMTP
#       sessions (each sends 1 to 5 messages, then QUIT and a new one);
#       one line per message in OUT: "TOKEN CLASS PHASE STAGE CODE QID".
#       The class comes from the number (class_of) unless ONLY-CLASS is
#       given.
#   soak.py retry PORT SESSIONS RESULTS OUT
#       the client's retry: sends again, with the same token, every message
#       of RESULTS whose reply was a 4xx.
#   soak.py account SINK-DIR QUEUE-JSON BUDGET-K SUMMARY CHECKS RESULTS...
#       accounts for every message: the client's replies (RESULTS, a later
#       line of a token wins: the retry), the sink's files and the queue
#       (postqueue -j); writes a markdown table to SUMMARY and one line per
#       check to CHECKS: "0|1<TAB>description<TAB>detail".
#
# A message's token is RUN.PHASE.N (the retry keeps it); it is its
# Message-ID's local part and the value of its X-Soak-Id: field.

import collections
import json
import os
import smtplib
import sys
import threading

# Classes: the sender and recipient that give each verdict (zones in
# tests/data/zones; the milter's config in run.sh).
#   deliver  auth-pass.example (SPF, DMARC pass) to example.net, gmail.com
#            or yahoo.com: 250, delivered, tagged
#   reject   auth-reject.example (SPF fails, DMARC p=reject; OnAuthReject
#            reject): 550 at the end of data
#   hold     compromised.example (HoldSenders): 250, in the hold queue
#   pause    to paused.example (PauseDomains): 451 at RCPT
#   budget   auth-pass.example to outlook.com (Budget microsoft
#            sender-domain K/1h): the first K 250, the others 452 at RCPT
CLASSES = ("deliver", "reject", "hold", "pause", "budget")


def class_of(n):
    """The class of message N: 5% reject, hold, pause each, 10% budget."""
    r = n % 20
    return {0: "reject", 1: "hold", 2: "pause", 3: "budget", 4: "budget"}.get(
        r, "deliver")


def envelope(cls, n):
    """(sender, recipient) of message N of class CLS."""
    user = "u%d" % (n % 50)
    if cls == "reject":
        return user + "@auth-reject.example", "carol@example.net"
    if cls == "hold":
        return user + "@compromised.example", "carol@example.net"
    if cls == "pause":
        return user + "@auth-pass.example", "dan@paused.example"
    if cls == "budget":
        return user + "@auth-pass.example", "joe@outlook.com"
    rcpt = ("carol@example.net", "bob@gmail.com", "ann@yahoo.com")[n % 3]
    return user + "@auth-pass.example", rcpt


def message(token, cls, n, sender, rcpt):
    """The message text: proper header fields, 1 to 8 KB of body."""
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: soak %s %s\r\n"
            "Date: Mon, 07 Dec 2026 12:00:00 +0000\r\n"
            "Message-ID: <%s@soak.preflight.test>\r\nX-Soak-Id: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            "\r\n" % (sender, rcpt, cls, token, token, token))
    line = "soak message %s line of text to fill the body up ........\r\n" % token
    return head + line * (12 + (n * 7) % 100)


class Sender:
    """SESSIONS threads taking messages from one list, writing one line each."""

    def __init__(self, port, sessions, out):
        self.port, self.sessions = port, sessions
        self.out = open(out, "a")
        self.lock = threading.Lock()
        self.todo = []

    def take(self):
        with self.lock:
            return self.todo.pop() if self.todo else None

    def record(self, m, stage, code, qid="-"):
        token, cls, phase = m[0], m[1], m[2]
        with self.lock:
            self.out.write("%s %s %s %s %s %s\n" % (token, cls, phase, stage, code, qid))
            self.out.flush()

    def one(self, s, m):
        """One transaction on session S; the reply is recorded."""
        token, cls, phase, n = m
        sender, rcpt = envelope(cls, n)
        code, text = s.mail(sender)
        if code != 250:
            s.rset()
            return self.record(m, "mail", code)
        code, text = s.rcpt(rcpt)
        if code not in (250, 251):
            s.rset()
            return self.record(m, "rcpt", code)
        try:
            code, text = s.data(message(token, cls, n, sender, rcpt).encode())
        except smtplib.SMTPDataError as e:  # DATA itself refused
            s.rset()
            return self.record(m, "data", e.smtp_code)
        text = text.decode("latin-1")
        qid = text.rsplit(" ", 1)[-1] if "queued as" in text else "-"
        self.record(m, "eod", code, qid)

    def worker(self, w):
        """One session after the other, 1 to 5 messages each."""
        conn = 0
        while True:
            m = self.take()
            if m is None:
                return
            conn += 1
            want, sent = 1 + (w + conn) % 5, 0
            try:
                s = smtplib.SMTP("127.0.0.1", self.port, "client.soak.test",
                                 timeout=300)
                while m is not None:
                    self.one(s, m)
                    sent += 1
                    m = self.take() if sent < want else None
                s.quit()
            except Exception as e:  # the message in hand is lost: "ERR"
                if m is not None:
                    self.record(m, "error", "ERR", type(e).__name__)

    def run(self, msgs):
        self.todo = list(reversed(msgs))
        ts = [threading.Thread(target=self.worker, args=(w,))
              for w in range(self.sessions)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.out.close()


def cmd_send(port, sessions, run, phase, first, count, out, only=None):
    msgs = []
    for n in range(int(first), int(first) + int(count)):
        cls = only or class_of(n)
        msgs.append(("%s.%s.%06d" % (run, phase, n), cls, phase, n))
    Sender(int(port), int(sessions), out).run(msgs)


def read_results(path):
    """Lines of a results file as dicts."""
    rows = []
    for line in open(path):
        token, cls, phase, stage, code, qid = line.split()
        rows.append(dict(token=token, cls=cls, phase=phase, stage=stage,
                         code=code, qid=qid))
    return rows


def cmd_retry(port, sessions, results, out):
    msgs = []
    for r in read_results(results):
        if r["code"].startswith("4"):
            n = int(r["token"].rsplit(".", 1)[1])
            msgs.append((r["token"], r["cls"], "retry", n))
    Sender(int(port), int(sessions), out).run(msgs)


def sink_tokens(sink):
    """Token -> copies, over the sink's message files."""
    seen = collections.Counter()
    for name in os.listdir(sink):
        with open(os.path.join(sink, name), "rb") as f:
            data = f.read()
        i = data.find(b"\nX-Soak-Id: ")
        if i < 0:
            seen["(no X-Soak-Id)"] += 1
            continue
        seen[data[i + 12:data.index(b"\n", i + 1)].strip().decode()] += 1
    return seen


def queue_ids(path):
    """(hold queue ids, ids in any other queue) from postqueue -j."""
    hold, other = set(), set()
    for line in open(path):
        if line.strip():
            m = json.loads(line)
            (hold if m.get("queue_name") == "hold" else other).add(m["queue_id"])
    return hold, other


def cmd_account(sink, queue_json, budget_k, summary, checks, *results):
    first, final = {}, {}
    for path in results:
        for r in read_results(path):
            first.setdefault(r["token"], r)
            final[r["token"]] = r
    at_sink = sink_tokens(sink)
    hold_q, other_q = queue_ids(queue_json)
    budget_k = int(budget_k)

    # per class: counts of first replies, retries and where each message ended
    cols = ("sent", "2xx", "4xx", "5xx", "err", "retried", "retry 2xx",
            "delivered", "held", "rejected", "deferred", "missing", "dup")
    t = {c: collections.Counter() for c in CLASSES + ("warmup", "total")}
    bad = collections.defaultdict(list)  # check -> offending tokens
    held_qids = set()
    for token, r0 in first.items():
        r = final[token]
        cls = "warmup" if r0["phase"] == "warmup" else r0["cls"]
        row = t[cls]
        row["sent"] += 1
        k = r0["code"][0] + "xx" if r0["code"][0] in "245" else "err"
        row[k] += 1
        if r is not r0:
            row["retried"] += 1
            row["retry 2xx"] += r["code"].startswith("2")
        copies = at_sink.pop(token, 0)
        if copies > 1:
            row["dup"] += 1
            bad["dup"].append(token)
        if r["code"].startswith("2") and r0["cls"] == "hold":
            held_qids.add(r["qid"])
            if r["qid"] in hold_q and copies == 0:
                row["held"] += 1
            else:
                row["missing"] += 1
                bad["held"].append(token)
        elif r["code"].startswith("2"):
            if copies >= 1:
                row["delivered"] += 1
            else:
                row["missing"] += 1
                bad["delivered"].append(token)
        elif copies:  # refused, yet delivered
            row["dup"] += 1
            bad["leak"].append(token)
        elif r["code"].startswith("5"):
            row["rejected"] += 1
        elif r["code"].startswith("4"):
            row["deferred"] += 1
        else:
            row["missing"] += 1
            bad["error"].append(token)
        # what each class must get
        want = {"deliver": r0["code"] == "250",
                "reject": r0["code"].startswith("5") and r0["stage"] == "eod",
                "hold": r0["code"] == "250",
                "pause": r0["code"] == "451" and r0["stage"] == "rcpt",
                "budget": r0["code"] in ("250", "452"),
                }.get(r0["cls"], True)
        if not want or (r is not r0 and r["code"] != "250"):
            bad["class"].append("%s:%s/%s" % (token, r0["code"], r["code"]))
    for cls in CLASSES + ("warmup",):
        t["total"].update(t[cls])
    stray = sum(at_sink.values())  # at the sink, sent by nobody
    tot = t["total"]

    with open(summary, "w") as f:
        f.write("| class | " + " | ".join(cols) + " |\n")
        f.write("|---" * (len(cols) + 1) + "|\n")
        for cls in ("warmup",) + CLASSES + ("total",):
            if t[cls]["sent"] or cls == "total":
                f.write("| %s | %s |\n" % (cls, " | ".join(str(t[cls][c]) for c in cols)))
        f.write("\nsent %d = delivered %d + held %d + rejected %d + deferred %d"
                " (+ missing %d); duplicates %d; at the sink but never sent %d\n"
                % (tot["sent"], tot["delivered"], tot["held"], tot["rejected"],
                   tot["deferred"], tot["missing"], tot["dup"], stray))
        f.write("(2xx/4xx/5xx: the first reply; retried: 4xx sent again after"
                " the pause was lifted and the budget raised)\n")

    b = t["budget"]
    res = [
        (tot["err"] == 0, "every message got an SMTP reply",
         "%d client errors: %s" % (tot["err"], " ".join(bad["error"][:5]))),
        (tot["sent"] == tot["delivered"] + tot["held"] + tot["rejected"]
         + tot["deferred"] and tot["missing"] == 0,
         "accounting: sent = delivered + held + rejected + deferred, none missing",
         "missing %d: %s" % (tot["missing"],
                             " ".join((bad["delivered"] + bad["held"] + bad["error"])[:5]))),
        (tot["dup"] == 0 and stray == 0,
         "no message delivered twice, none delivered that was refused or held, none unknown",
         "dup %s leak %s stray %d" % (bad["dup"][:5], bad["leak"][:5], stray)),
        (hold_q == held_qids and not other_q,
         "the hold queue holds exactly the held messages; no other queue has mail",
         "hold %d, expected %d, other queues %d" % (len(hold_q), len(held_qids), len(other_q))),
        (not bad["class"], "each class got its verdict (and each retry 250)",
         " ".join(bad["class"][:8])),
        (b["2xx"] == min(budget_k, b["sent"]),
         "the budget admitted exactly K=%d of %d under concurrency" % (budget_k, b["sent"]),
         "admitted %d" % b["2xx"]),
    ]
    with open(checks, "w") as f:
        for ok, desc, detail in res:
            f.write("%d\t%s\t%s\n" % (0 if ok else 1, desc, "" if ok else detail))


if __name__ == "__main__":
    cmds = {"send": cmd_send, "retry": cmd_retry, "account": cmd_account}
    cmds[sys.argv[1]](*sys.argv[2:])
