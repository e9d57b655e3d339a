#!/bin/bash
# A broken config is reported with file and line, every problem at once,
# and a non-zero exit -- by the daemon's -n and by the CLI.
. "$(dirname "$0")/lib.sh"
plan 9

cat >"$T/bad.conf" <<'CONF'
# preflight.conf with mistakes
Mode enforce
Socket tcp:8891
Bogus yes
UMask 999
Mode tag
CONF
out=$("$PFL_MILTER" -n -c "$T/bad.conf" 2>&1)
rc=$?
is "$rc" 78 "preflight-milter -n exits 78 (EX_CONFIG) on a bad file"
like "$out" "$T/bad.conf:3: Socket: expected inet:PORT@ADDRESS" "names file:line of a bad Socket"
like "$out" "$T/bad.conf:4: unknown key \"Bogus\"" "names file:line of an unknown key"
like "$out" "$T/bad.conf:5: UMask:" "names file:line of a bad UMask"
like "$out" "$T/bad.conf:6: Mode: already set at line 2" "names a duplicate key and the first line"

out=$("$PFL_CLI" config-check "$T/bad.conf" 2>&1)
is "$?" 78 "preflight config-check exits 78 too"
like "$out" "$T/bad.conf:4: unknown key" "the CLI reports the same problems"

printf 'Mode monitor\nSocket inet:8891@127.0.0.1\n' >"$T/good.conf"
out=$("$PFL_MILTER" -n -c "$T/good.conf" 2>&1)
is "$?" 0 "a good file passes -n"
out=$("$PFL_MILTER" -c "$T/missing.conf" 2>&1)
like "$out" "$T/missing.conf: cannot open" "a missing file is named"
