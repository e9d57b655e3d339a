# rawsmtp.py - one authenticated submission written byte by byte, for the
# end-to-end tests that send what swaks would clean up (NUL bytes, raw
# 8-bit and control bytes, encoded line breaks). Imported by the Python
# snippets of t_fault_hostile and t_privilege (PYTHONPATH=tests/e2e).
import socket


def submit(port, sender, rcpt, message):
    """Send message (bytes, CR LF lines) from sender (bytes, with its
    angle brackets) to rcpt over XCLIENT ADDR=192.0.2.77 LOGIN=alice on
    127.0.0.1:port; the reply to the end of data, or to the first
    command refused."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline().decode("latin-1").rstrip("\r\n")
            if len(line) < 4 or line[3] != "-":
                return line

    def cmd(c):
        s.sendall(c + b"\r\n")
        return reply()

    reply()
    cmd(b"EHLO client.example")
    cmd(b"XCLIENT ADDR=192.0.2.77 LOGIN=alice")
    cmd(b"EHLO client.example")
    r = cmd(b"MAIL FROM:" + sender)
    if r.startswith("250"):
        r = cmd(b"RCPT TO:" + rcpt)
    if r.startswith("250"):
        r = cmd(b"DATA")
    if r.startswith("354"):
        lines = message.split(b"\r\n")
        if lines and lines[-1] == b"":
            lines.pop()
        s.sendall(b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                           for l in lines) + b".\r\n")
        r = reply()
    try:
        cmd(b"QUIT")
    except OSError:
        pass
    s.close()
    return r
