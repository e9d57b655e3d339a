/*
 * NAME
 *	store_redis - the "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" backend
 * DESCRIPTION
 *	A fleet of MTAs shares budgets through one Redis server. A key is
 *	one Redis hash, "pfl:{KEY}" (the hash tag keeps it in one Redis
 *	Cluster slot), with one field per bucket, "START:WIDTH" = count,
 *	and the window's running sum ("sum", "win"; see below).
 *	Every window operation is one server-side Lua script (EVALSHA, EVAL
 *	when the server answers NOSCRIPT), so several milters sharing the
 *	server stay exact; it mirrors the bucket arithmetic of store.c. Every
 *	add sets the key's TTL to the window plus one bucket, so keys that
 *	are no longer written go away by themselves; list uses SCAN.
 *
 *	A batch (window_add_many) is one call of a second script with all
 *	its keys: one round trip per recipient, however many budgets apply.
 *	A script names its keys, so the batch is atomic on one server; on a
 *	Redis Cluster the keys of a batch would have to share a slot, which
 *	their hash tags do not give (this backend does not follow cluster
 *	redirections anyway). Both scripts are loaded at connect.
 *
 *	A value is a Redis string under the same name, set by SET (with EX
 *	for a time to live) and read by GET; Redis's own expiry drops it.
 *	GET on a window's hash answers WRONGTYPE, which is "no value" here;
 *	the window script refuses a key that is not a hash.
 *
 *	Each thread has its own connection (a pthread key), made at its
 *	first call, never at open: open only checks the spec, so a server
 *	that is down at start is TEMPFAIL per call, not a failed start, and
 *	no connection crosses the daemon's fork. A call whose connection
 *	fails is TEMPFAIL and drops it; the next call connects again. A
 *	connection that was idle and turns out dead (the server restarted)
 *	is retried once within the same call.
 * ERRORS
 *	TEMPFAIL with "redis HOST:PORT: reason". Connect, every command and
 *	the whole call are bounded by the timeout; HOST should be an address
 *	(name resolution is not bounded). SIGPIPE is held off while a
 *	command is written, so a closed connection cannot kill the process.
 * THREAD SAFETY
 *	A handle may be used by all threads.
 */
#include <autoconfig.h>

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "store_private.h"
#include "util.h"

#define KEY_HEAD "pfl:{"

/*
 * The running sum. Summing every bucket of a window on each add would
 * read the whole hash each time; instead the hash keeps two more
 * fields: "sum", the sum of all its bucket fields, and "win" = "WIDTH
 * NBUCKETS LO SCANNED", the window shape they were made for, the oldest
 * bucket start there may be, and the bucket of the last full scan. An
 * add of that shape reads "win", "sum" and the current bucket (HMGET),
 * subtracts the buckets that fell out of the window since (found by
 * their starts from LO on: as many as buckets went by, not as many as
 * the hash holds) and writes the current bucket and "sum" back (HSET),
 * "win" too when LO moved. The two fields are written only when every
 * bucket has that width and starts on a multiple of it; otherwise
 * (another shape, a hash an older preflight wrote, junk) the add reads
 * the whole hash as before and makes them anew. The same full scan
 * comes at least once per window, when more buckets went by than the
 * window holds or than 64, and when the sum would go below zero, so a
 * sum gone wrong (an older preflight's release during an upgrade leaves
 * it high) heals within a window. An older preflight's add drops both
 * fields, as any field that is no bucket. When no bucket is left, they
 * go too, so an emptied key still disappears.
 *
 * The functions both scripts share. A key's state (st) is what open
 * read: inc true with sum, lo and rs (as in "sum" and "win"), n the
 * current bucket's count (field cf) and had whether it was there; else
 * c, the whole hash as field = {end, count, start, width} ({0, 0} for
 * junk). dels are the fields to drop, adds (full) the adds to write.
 * Counts and starts are written with string.format('%d'): Lua's own
 * conversion of a number is slower, and inexact above 10^14.
 */
#define LUA_COMMON                                                             \
	"local SUM, WIN = 'sum', 'win'\n"                                      \
	"local function each(cmd, key, list)\n"                                \
	"  local out = {}\n"                                                   \
	"  for i = 1, #list, 200 do\n"                                         \
	"    local r = redis.call(cmd, key, unpack(list, i, "                  \
	"math.min(i + 199, #list)))\n"                                         \
	"    if type(r) == 'table' then\n"                                     \
	"      for _, v in ipairs(r) do out[#out + 1] = v end\n"               \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  return out\n"                                                       \
	"end\n"                                                                \
	"local function full(st)\n"                                            \
	"  local h, c = redis.call('HGETALL', st.key), {}\n"                   \
	"  for i = 1, #h, 2 do\n"                                              \
	"    local s, w = string.match(h[i], '^(%-?%d+):(%d+)$')\n"            \
	"    local n = tonumber(h[i + 1])\n"                                   \
	"    if s and n and n > 0 then\n"                                      \
	"      s, w = tonumber(s), tonumber(w)\n"                              \
	"      c[h[i]] = {s + w, n, s, w}\n"                                   \
	"    elseif h[i] ~= SUM and h[i] ~= WIN then\n"                        \
	"      c[h[i]] = {0, 0}\n"                                             \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  st.inc, st.c, st.dels, st.adds = false, c, {}, {}\n"                \
	"  return st\n"                                                        \
	"end\n"                                                                \
	"local function open(key, now, b, nb, uniform)\n"                      \
	"  local cur = now - now % b\n"                                        \
	"  local cf = string.format('%d:%d', cur, b)\n"                        \
	"  local r = redis.pcall('HMGET', key, WIN, SUM, cf)\n"                \
	"  if r.err then return nil, r.err end\n"                              \
	"  local st = {key = key, b = b, nb = nb, cur = cur, cf = cf,\n"       \
	"    lower = cur - b * nb, uniform = uniform, meta = r[1] or r[2],\n"  \
	"    inc = false, dels = {}, n = tonumber(r[3]) or 0, had = r[3],\n"   \
	"    added = false, moved = false, sum = 0, lo = 0, rs = 0}\n"         \
	"  local pre, lo, rs, sum = string.format('%d %d ', b, nb)\n"          \
	"  if uniform and r[1] and string.sub(r[1], 1, #pre) == pre then\n"    \
	"    lo, rs = string.match(r[1], '^(%-?%d+) (%-?%d+)$', #pre + 1)\n"   \
	"    sum = tonumber(r[2])\n"                                           \
	"  end\n"                                                              \
	"  if not (lo and sum) then return full(st) end\n"                     \
	"  lo, rs = tonumber(lo), tonumber(rs)\n"                              \
	"  local last = st.lower - b\n"                                        \
	"  if cur >= rs + b * nb or (last - lo) / b >= math.min(nb, 64) "      \
	"then\n"                                                               \
	"    return full(st)\n"                                                \
	"  end\n"                                                              \
	"  if last >= lo then\n"                                               \
	"    local gone = {}\n"                                                \
	"    for s = lo, last, b do\n"                                         \
	"      gone[#gone + 1] = string.format('%d:%d', s, b)\n"               \
	"    end\n"                                                            \
	"    local v = each('HMGET', key, gone)\n"                             \
	"    for i = 1, #gone do\n"                                            \
	"      if v[i] then\n"                                                 \
	"        sum = sum - (tonumber(v[i]) or 0)\n"                          \
	"        st.dels[#st.dels + 1] = gone[i]\n"                            \
	"      end\n"                                                          \
	"    end\n"                                                            \
	"    if sum < 0 then return full(st) end\n"                            \
	"    lo, st.moved = st.lower, true\n"                                  \
	"  end\n"                                                              \
	"  st.inc, st.sum, st.lo, st.rs = true, sum, lo, rs\n"                 \
	"  return st\n"                                                        \
	"end\n"                                                                \
	"local function nextfree(st, lower, sum, n, limit, b, span)\n"         \
	"  local live, left, t = {}, sum, 0\n"                                 \
	"  if st.inc then\n"                                                   \
	"    local h = redis.call('HGETALL', st.key)\n"                        \
	"    if not st.had and st.n > 0 then\n"                                \
	"      live[1] = {st.cur + st.b, st.n}\n"                              \
	"    end\n"                                                            \
	"    for i = 1, #h, 2 do\n"                                            \
	"      local s, w = string.match(h[i], '^(%-?%d+):(%d+)$')\n"          \
	"      local c = tonumber(h[i + 1])\n"                                 \
	"      if h[i] == st.cf then c = st.n end\n"                           \
	"      if s and c and c > 0 and s + w > lower then\n"                  \
	"        live[#live + 1] = {s + w, c}\n"                               \
	"      end\n"                                                          \
	"    end\n"                                                            \
	"  else\n"                                                             \
	"    for _, v in pairs(st.c) do live[#live + 1] = v end\n"             \
	"  end\n"                                                              \
	"  table.sort(live, function(x, y) return x[1] < y[1] end)\n"          \
	"  for _, v in ipairs(live) do\n"                                      \
	"    left = left - v[2]\n"                                             \
	"    t = v[1] + span\n"                                                \
	"    t = t + (b - t % b) % b\n"                                        \
	"    if left <= limit - n then break end\n"                            \
	"  end\n"                                                              \
	"  return t\n"                                                         \
	"end\n"                                                                \
	"local function decide(st, now, b, nb, n, limit)\n"                    \
	"  local span, cur = b * nb, now - now % b\n"                          \
	"  local lower, sum = cur - span, 0\n"                                 \
	"  if st.inc then\n"                                                   \
	"    sum = st.sum\n"                                                   \
	"  else\n"                                                             \
	"    for f, v in pairs(st.c) do\n"                                     \
	"      if v[2] > 0 and v[1] > lower then\n"                            \
	"        sum = sum + v[2]\n"                                           \
	"      else\n"                                                         \
	"        st.c[f] = nil\n"                                              \
	"        st.dels[#st.dels + 1] = f\n"                                  \
	"      end\n"                                                          \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  if n > limit or sum > limit - n then\n"                             \
	"    local t = 0\n"                                                    \
	"    if n <= limit then\n"                                             \
	"      t = nextfree(st, lower, sum, n, limit, b, span)\n"              \
	"    end\n"                                                            \
	"    return false, sum, cur, t\n"                                      \
	"  end\n"                                                              \
	"  if n > 0 and st.inc then\n"                                         \
	"    st.added, st.n, st.sum = true, st.n + n, sum + n\n"               \
	"    if cur < st.lo then st.lo, st.moved = cur, true end\n"            \
	"  elseif n > 0 then\n"                                                \
	"    local f = cur .. ':' .. b\n"                                      \
	"    local v = st.c[f]\n"                                              \
	"    if v then v[2] = v[2] + n else st.c[f] = {cur + b, n, cur, b} "   \
	"end\n"                                                                \
	"    st.adds[#st.adds + 1] = {f, n, span + b, not v}\n"                \
	"  end\n"                                                              \
	"  return true, sum, cur, 0\n"                                         \
	"end\n"                                                                \
	"local function int(x) return string.format('%d', x) end\n"            \
	"local function wintext(st, lo, rs)\n"                                 \
	"  return string.format('%d %d %d %d', st.b, st.nb, lo, rs)\n"         \
	"end\n"                                                                \
	"local function commit_inc(st, ttl)\n"                                 \
	"  local key = st.key\n"                                               \
	"  if st.sum <= 0 then\n"                                              \
	"    redis.call('HDEL', key, SUM, WIN)\n"                              \
	"  elseif st.added and st.moved then\n"                                \
	"    redis.call('HSET', key, st.cf, int(st.n), SUM, int(st.sum), "     \
	"WIN,\n"                                                               \
	"      wintext(st, st.lo, st.rs))\n"                                   \
	"  elseif st.added then\n"                                             \
	"    redis.call('HSET', key, st.cf, int(st.n), SUM, int(st.sum))\n"    \
	"  elseif st.moved then\n"                                             \
	"    redis.call('HSET', key, SUM, int(st.sum), WIN, wintext(st, "      \
	"st.lo, st.rs))\n"                                                     \
	"  end\n"                                                              \
	"  if ttl and st.added and not st.had then\n"                          \
	"    redis.call('EXPIRE', key, st.b * (st.nb + 1))\n"                  \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function commit(st, ttl)\n"                                     \
	"  if #st.dels > 0 then each('HDEL', st.key, st.dels) end\n"           \
	"  if st.inc then return commit_inc(st, ttl) end\n"                    \
	"  local sum, lo, ok = 0, nil, st.uniform\n"                           \
	"  for _, v in pairs(st.c) do\n"                                       \
	"    if v[4] ~= st.b or v[3] % st.b ~= 0 then ok = false break "       \
	"end\n"                                                                \
	"    sum = sum + v[2]\n"                                               \
	"    if not lo or v[3] < lo then lo = v[3] end\n"                      \
	"  end\n"                                                              \
	"  if ok and lo then\n"                                                \
	"    local set = {'HSET', st.key, SUM, int(sum), WIN, wintext(st, "    \
	"lo, "                                                                 \
	"st.cur)}\n"                                                           \
	"    for _, a in ipairs(st.adds) do\n"                                 \
	"      set[#set + 1], set[#set + 2] = a[1], int(st.c[a[1]][2])\n"      \
	"    end\n"                                                            \
	"    redis.call(unpack(set))\n"                                        \
	"  else\n"                                                             \
	"    for _, a in ipairs(st.adds) do\n"                                 \
	"      redis.call('HINCRBY', st.key, a[1], a[2])\n"                    \
	"    end\n"                                                            \
	"    if st.meta then redis.call('HDEL', st.key, SUM, WIN) end\n"       \
	"  end\n"                                                              \
	"  local keep\n"                                                       \
	"  for _, a in ipairs(st.adds) do\n"                                   \
	"    if a[4] then keep = a[3] end\n"                                   \
	"  end\n"                                                              \
	"  if keep and ttl then redis.call('EXPIRE', st.key, keep) end\n"      \
	"end\n"

/*
 * The window script. KEYS[1] the hash; ARGV: mode (add, total,
 * release), time (now, or the bucket for release), bucket width, number
 * of buckets, n, limit. Returns {admitted, total, bucket, next_free,
 * live}, live non-zero when a bucket counts, or an error when the key
 * is not a hash (a value). An add drops the buckets out of the window
 * and sets the key's TTL to the window plus one bucket, admitted or
 * not. A release takes n from its bucket (dropped at zero) and from
 * "sum". Counts stay below 2^53, so the sums in doubles are exact; n
 * goes to HINCRBY as the caller's decimal string.
 */
static const char script[] = LUA_COMMON
    "local key, mode = KEYS[1], ARGV[1]\n"
    "local t, b, nb = tonumber(ARGV[2]), tonumber(ARGV[3]), "
    "tonumber(ARGV[4])\n"
    "local n, limit = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local function refuse(e)\n"
    "  if string.find(e, '^WRONGTYPE') then\n"
    "    return redis.error_reply('key holds a value, not a window')\n"
    "  end\n"
    "  return redis.error_reply(e)\n"
    "end\n"
    "if mode == 'release' then\n"
    "  local f = ARGV[2] .. ':' .. ARGV[3]\n"
    "  local r = redis.pcall('HMGET', key, f, SUM)\n"
    "  if r.err then return refuse(r.err) end\n"
    "  if not r[1] then return {0, 0, 0, 0, 0} end\n"
    "  local left = redis.call('HINCRBY', key, f, '-' .. ARGV[5])\n"
    "  if left <= 0 then redis.call('HDEL', key, f) end\n"
    "  local sum = tonumber(r[2])\n"
    "  if sum then\n"
    "    sum = sum - (left > 0 and n or tonumber(r[1]))\n"
    "    if sum > 0 then redis.call('HSET', key, SUM, int(sum))\n"
    "    else redis.call('HDEL', key, SUM, WIN) end\n"
    "  end\n"
    "  return {0, 0, 0, 0, 0}\n"
    "end\n"
    "local st, e = open(key, t, b, nb, true)\n"
    "if not st then return refuse(e) end\n"
    "if mode ~= 'add' then\n"
    "  local sum, live = 0, 0\n"
    "  if st.inc then\n"
    "    sum, live = st.sum, st.sum\n"
    "  else\n"
    "    for _, v in pairs(st.c) do\n"
    "      if v[2] > 0 and v[1] > st.lower then\n"
    "        sum, live = sum + v[2], live + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return {0, sum, st.cur, 0, live}\n"
    "end\n"
    "local ok, sum, cur, nextfree = decide(st, t, b, nb, n, limit)\n"
    "commit(st, false)\n"
    "redis.call('EXPIRE', key, b * nb + b)\n"
    "return {ok and 1 or 0, sum, cur, nextfree, 1}\n";

/*
 * The batch script's fast path, run before the general one: the case of
 * nearly every call, where each key is named once, its "win" and "sum"
 * are of the op's shape and no bucket has left the window since the
 * last add (so the running sum is the window's count), n > 0, the sum
 * is not negative and every op admits. It reads each key by one HMGET,
 * as open does, and writes what commit_inc would (HSET of the bucket and
 * "sum"; EXPIRE when the bucket is new), with plain locals in place of
 * the general path's tables and functions, which cost more than the
 * Redis commands. On anything else it stops before writing and the
 * general path below does the whole batch again.
 */
#define LUA_FAST                                                               \
	"local now, nk = tonumber(ARGV[1]), #KEYS\n"                           \
	"do\n"                                                                 \
	"  local fmt, sub, match, num = string.format, string.sub, "           \
	"string.match, tonumber\n"                                             \
	"  local seen, out, cfs, ns, sums, ttls = {}, {0, nk}, {}, {}, {}, "   \
	"{}\n"                                                                 \
	"  local i = 1\n"                                                      \
	"  while i <= nk do\n"                                                 \
	"    local key, j = KEYS[i], 4 * i - 2\n"                              \
	"    if seen[key] then break end\n"                                    \
	"    seen[key] = true\n"                                               \
	"    local b, nb = num(ARGV[j]), num(ARGV[j + 1])\n"                   \
	"    local n, limit = num(ARGV[j + 2]), num(ARGV[j + 3])\n"            \
	"    local cur = now - now % b\n"                                      \
	"    local cf = fmt('%d:%d', cur, b)\n"                                \
	"    local r = redis.pcall('HMGET', key, 'win', 'sum', cf)\n"          \
	"    if r.err or not r[1] or not (n > 0) then break end\n"             \
	"    local pre = fmt('%d %d ', b, nb)\n"                               \
	"    if sub(r[1], 1, #pre) ~= pre then break end\n"                    \
	"    local lo, rs = match(r[1], '^(%-?%d+) (%-?%d+)$', #pre + 1)\n"    \
	"    local sum = num(r[2])\n"                                          \
	"    if not (lo and sum and sum >= 0) then break end\n"                \
	"    lo, rs = num(lo), num(rs)\n"                                      \
	"    if cur >= rs + b * nb or cur - b * nb - b >= lo or cur < lo "     \
	"then\n"                                                               \
	"      break\n"                                                        \
	"    end\n"                                                            \
	"    if n > limit or sum > limit - n then break end\n"                 \
	"    cfs[i], ns[i], sums[i] = cf, (num(r[3]) or 0) + n, sum + n\n"     \
	"    if not r[3] then ttls[i] = b * (nb + 1) end\n"                    \
	"    out[2 * i + 1], out[2 * i + 2] = sum, cur\n"                      \
	"    i = i + 1\n"                                                      \
	"  end\n"                                                              \
	"  if i > nk then\n"                                                   \
	"    for i = 1, nk do\n"                                               \
	"      redis.call('HSET', KEYS[i], cfs[i], fmt('%d', ns[i]), 'sum', "  \
	"fmt('%d', sums[i]))\n"                                                \
	"      if ttls[i] then redis.call('EXPIRE', KEYS[i], ttls[i]) end\n"   \
	"    end\n"                                                            \
	"    return out\n"                                                     \
	"  end\n"                                                              \
	"end\n"

/*
 * The batch script: the window adds of several keys, all or none.
 * KEYS[1..N] the hashes; ARGV[1] now, then per key its bucket width,
 * number of buckets, n and limit. The first pass reads each key once
 * (open) and does the adds in its state, in order, as the window script
 * would (a key named twice sees its earlier add; a key named with two
 * window shapes is read whole); the first op that refuses or finds a
 * value ends the script before anything was written. Only when all
 * admit, the second pass writes, key by key, what the window script
 * would have written, but for the TTL: it is set only by an add that
 * starts a bucket, which is enough, as a key needs to live until its
 * newest bucket ages out, and saves a call per add. Returns {0, N,
 * total, bucket per op...}, {1, index, total, bucket, next_free} when
 * op index (from 0) refused, or {2, index} when its key holds a value
 * (HMGET answers WRONGTYPE).
 */
static const char many_script[] = LUA_FAST LUA_COMMON
    "local shape, state, order = {}, {}, {}\n"
    "for i = 1, #KEYS do\n"
    "  local k, s = KEYS[i], ARGV[4 * i - 2] .. ':' .. ARGV[4 * i - 1]\n"
    "  if shape[k] == nil then shape[k] = s\n"
    "  elseif shape[k] ~= s then shape[k] = false end\n"
    "end\n"
    "local out = {0, #KEYS}\n"
    "for i = 1, #KEYS do\n"
    "  local key, j = KEYS[i], 4 * i - 2\n"
    "  local b, nb = tonumber(ARGV[j]), tonumber(ARGV[j + 1])\n"
    "  local n, limit = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])\n"
    "  local st = state[key]\n"
    "  if not st then\n"
    "    local e\n"
    "    st, e = open(key, now, b, nb, shape[key] ~= false)\n"
    "    if not st and string.find(e, '^WRONGTYPE') then return {2, i - 1} "
    "end\n"
    "    if not st then return redis.error_reply(e) end\n"
    "    state[key], order[#order + 1] = st, st\n"
    "  end\n"
    "  local ok, sum, cur, t = decide(st, now, b, nb, n, limit)\n"
    "  if not ok then return {1, i - 1, sum, cur, t} end\n"
    "  out[2 * i + 1], out[2 * i + 2] = sum, cur\n"
    "end\n"
    "for _, st in ipairs(order) do commit(st, true) end\n"
    "return out\n";

/* The scripts a connection loads; a request names one by its index. */
static const struct {
	const char *text;
	size_t len;
} scripts[] = {
	{ script, sizeof(script) - 1 },
	{ many_script, sizeof(many_script) - 1 },
};

#define NSCRIPTS    (sizeof(scripts) / sizeof(scripts[0]))
#define NO_SCRIPT   (-1)
#define SCRIPT_ONE  0 /* script */
#define SCRIPT_MANY 1 /* many_script */

struct store_redis;

/* A thread's connection. */
struct conn {
	redisContext *c;        /* NULL: connect at the next call */
	pid_t pid;              /* the process that made it */
	char sha[NSCRIPTS][41]; /* the scripts' SHA1 as the server said */
	struct timeval tv;      /* the socket timeout set on c (0: none) */
	struct store_redis *owner;
	struct conn *prev, *next;
};

struct store_redis {
	struct pfl_store base; /* first: the handle callers hold */
	char *host, *user, *password;
	int port;
	unsigned db;
	char name[300]; /* "HOST:PORT" for messages */
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct conn *conns;
};

/*
 * A command (argv and len borrowed); with a script (not NO_SCRIPT),
 * argv[0..1] become EVALSHA sha or EVAL text. With wrongtype_none set,
 * a WRONGTYPE error means no such key.
 */
struct request {
	int argc;
	const char **argv;
	size_t *len;
	int script;
	bool wrongtype_none;
};

/* redis_kind - the backend's name */
static const char *
redis_kind(void)
{
	return "redis";
}

/* number - the decimal number at *pp (at most max), moving on; -1 if none */
static long
number(const char **pp, long max)
{
	const char *p = *pp;
	long v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (*p - '0')) > max)
			return -1;
	*pp = p;
	return v;
}

/* parse_auth - [[USER]:PASSWORD@]; returns where the host starts */
static const char *
parse_auth(struct store_redis *sr, const char *arg)
{
	const char *at = strrchr(arg, '@'), *colon;

	if (at == NULL)
		return arg;
	colon = memchr(arg, ':', (size_t)(at - arg));
	if (colon == NULL) {
		sr->password = pfl_xstrndup(arg, (size_t)(at - arg));
		return at + 1;
	}
	if (colon > arg)
		sr->user = pfl_xstrndup(arg, (size_t)(colon - arg));
	sr->password = pfl_xstrndup(colon + 1, (size_t)(at - colon - 1));
	return at + 1;
}

/* parse_spec - fill host, port, db and credentials; false when bad */
static bool
parse_spec(struct store_redis *sr, const char *arg)
{
	const char *p = parse_auth(sr, arg), *end;
	long v;

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			return false;
		sr->host = pfl_xstrndup(p + 1, (size_t)(end - p - 1));
		p = end + 1;
	} else {
		end = p + strcspn(p, ":/");
		sr->host = pfl_xstrndup(p, (size_t)(end - p));
		p = end;
	}
	sr->port = 6379;
	if (*p == ':') {
		p++;
		if ((v = number(&p, 65535)) <= 0)
			return false;
		sr->port = (int)v;
	}
	if (*p == '/' && *++p != '\0') {
		if ((v = number(&p, 1L << 30)) < 0)
			return false;
		sr->db = (unsigned)v;
	}
	return *p == '\0' && sr->host[0] != '\0' && strlen(sr->host) < 256;
}

/* conn_free - a connection's end: at thread exit, close, or after fork */
static void
conn_free(void *arg)
{
	struct conn *cn = arg;
	struct store_redis *sr = cn->owner;

	pthread_mutex_lock(&sr->lock);
	if (cn->prev != NULL)
		cn->prev->next = cn->next;
	else
		sr->conns = cn->next;
	if (cn->next != NULL)
		cn->next->prev = cn->prev;
	pthread_mutex_unlock(&sr->lock);
	if (cn->c != NULL)
		redisFree(cn->c); /* in a child: closes only its copy */
	free(cn);
}

/* redis_open - check the spec; connections are made at first use */
static struct pfl_store *
redis_open(const char *arg, unsigned timeout_ms, char *err, size_t n)
{
	struct store_redis *sr = pfl_xcalloc(1, sizeof(*sr));
	char shown[128];

	(void)timeout_ms;
	if (!parse_spec(sr, arg)) {
		pfl_store_error(err, n,
		    "redis://%s: expected redis://[[USER]:PASSWORD@]HOST"
		    "[:PORT][/DB]",
		    pfl_printable(shown, sizeof(shown), arg, NULL));
	} else if (pthread_key_create(&sr->key, conn_free) != 0) {
		pfl_store_error(err, n, "redis://%s: no thread key left",
		    pfl_printable(shown, sizeof(shown), arg, NULL));
	} else {
		snprintf(sr->name, sizeof(sr->name),
		    strchr(sr->host, ':') ? "[%s]:%d" : "%s:%d", sr->host,
		    sr->port);
		pthread_mutex_init(&sr->lock, NULL);
		return &sr->base;
	}
	free(sr->host);
	free(sr->user);
	free(sr->password);
	free(sr);
	return NULL;
}

/* redis_close - close every thread's connection and free the handle */
static void
redis_close(struct pfl_store *st)
{
	struct store_redis *sr = (struct store_redis *)st;

	/* no destructor runs for a deleted key: free the connections here */
	pthread_key_delete(sr->key);
	while (sr->conns != NULL)
		conn_free(sr->conns);
	pthread_mutex_destroy(&sr->lock);
	free(sr->host);
	free(sr->user);
	free(sr->password);
	free(sr);
}

/* now_ms - a monotonic clock in milliseconds */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* time_left - what remains until the deadline; false when nothing does */
static bool
time_left(int64_t deadline, struct timeval *tv)
{
	int64_t ms = deadline - now_ms();

	if (ms <= 0)
		return false; /* a zero socket timeout would mean "forever" */
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return true;
}

/* hold_sigpipe - block SIGPIPE while writing; remembers if one was due */
static bool
hold_sigpipe(sigset_t *old)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	pthread_sigmask(SIG_BLOCK, &pipe, old);
	return sigismember(&pending, SIGPIPE) == 1;
}

/* release_sigpipe - swallow a SIGPIPE our write raised; restore the mask */
static void
release_sigpipe(const sigset_t *old, bool was_pending)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE) == 1)
		(void)sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/*
 * set_timeout - the socket timeout of cn's next command; a call mostly
 * begins with the same whole milliseconds left as the one before, so
 * the two setsockopt calls are made only when they change it
 */
static bool
set_timeout(struct conn *cn, const struct timeval *tv)
{
	if (tv->tv_sec == cn->tv.tv_sec && tv->tv_usec == cn->tv.tv_usec)
		return true;
	if (redisSetTimeout(cn->c, *tv) != 0)
		return false;
	cn->tv = *tv;
	return true;
}

/* send_argv - one command and its reply; NULL with the reason in err */
static redisReply *
send_argv(struct store_redis *sr, struct conn *cn, int64_t deadline, int argc,
    const char **argv, const size_t *len, bool *timeout_r, char *err,
    size_t errlen)
{
	struct timeval tv;
	redisReply *r;
	sigset_t old;
	bool pending;
	int saved;

	*timeout_r = true;
	if (!time_left(deadline, &tv) || !set_timeout(cn, &tv)) {
		pfl_store_error(err, errlen, "redis %s: timed out", sr->name);
		return NULL;
	}
	pending = hold_sigpipe(&old);
	r = redisCommandArgv(cn->c, argc, argv, len);
	saved = errno;
	release_sigpipe(&old, pending);
	if (r != NULL)
		return r;
	*timeout_r = cn->c->err == REDIS_ERR_IO &&
	    (saved == EAGAIN || saved == EWOULDBLOCK);
	pfl_store_error(err, errlen, "redis %s: %s", sr->name,
	    *timeout_r ? "timed out" : cn->c->errstr);
	return NULL;
}

/* expect - a reply of the given type, else false with the reason */
static bool
expect(struct store_redis *sr, redisReply *r, int type, const char *what,
    char *err, size_t errlen)
{
	char shown[128];
	bool ok = r != NULL && r->type == type;

	if (r != NULL && !ok)
		pfl_store_error(err, errlen, "redis %s: %s: %s", sr->name, what,
		    r->type == REDIS_REPLY_ERROR
			? pfl_printable(shown, sizeof(shown), r->str, NULL)
			: "unexpected reply");
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

/* load_scripts - SCRIPT LOAD each script; its SHA1 into cn */
static bool
load_scripts(struct store_redis *sr, struct conn *cn, int64_t deadline,
    char *err, size_t errlen)
{
	const char *argv[3] = { "SCRIPT", "LOAD", NULL };
	size_t len[3] = { 6, 4, 0 }, i;
	redisReply *r;
	bool to;

	for (i = 0; i < NSCRIPTS; i++) {
		argv[2] = scripts[i].text;
		len[2] = scripts[i].len;
		r = send_argv(sr, cn, deadline, 3, argv, len, &to, err, errlen);
		if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40)
			memcpy(cn->sha[i], r->str, 41);
		if (!expect(sr, r, REDIS_REPLY_STRING, "SCRIPT LOAD", err,
			errlen) ||
		    cn->sha[i][0] == '\0')
			return false;
	}
	return true;
}

/* setup - AUTH, SELECT and SCRIPT LOAD on a new connection */
static bool
setup(struct store_redis *sr, struct conn *cn, int64_t deadline, char *err,
    size_t errlen)
{
	const char *argv[3];
	char db[16];
	bool to;
	int n = 1;

	argv[0] = "AUTH";
	if (sr->user != NULL)
		argv[n++] = sr->user;
	argv[n++] = sr->password;
	if (sr->password != NULL &&
	    !expect(sr,
		send_argv(sr, cn, deadline, n, argv, NULL, &to, err, errlen),
		REDIS_REPLY_STATUS, "AUTH", err, errlen))
		return false;
	snprintf(db, sizeof(db), "%u", sr->db);
	argv[0] = "SELECT";
	argv[1] = db;
	if (sr->db != 0 &&
	    !expect(sr,
		send_argv(sr, cn, deadline, 2, argv, NULL, &to, err, errlen),
		REDIS_REPLY_STATUS, "SELECT", err, errlen))
		return false;
	return load_scripts(sr, cn, deadline, err, errlen);
}

/* connect_to - a new connection, set up, within the deadline */
static bool
connect_to(struct store_redis *sr, struct conn *cn, int64_t deadline, char *err,
    size_t errlen)
{
	struct timeval tv;

	if (!time_left(deadline, &tv)) {
		pfl_store_error(err, errlen, "redis %s: timed out", sr->name);
		return false;
	}
	cn->tv = (struct timeval){ 0, 0 }; /* a new socket: none set yet */
	cn->c = redisConnectWithTimeout(sr->host, sr->port, tv);
	if (cn->c == NULL || cn->c->err != 0)
		pfl_store_error(err, errlen, "redis %s: connect: %s", sr->name,
		    cn->c ? cn->c->errstr : "out of memory");
	else if (setup(sr, cn, deadline, err, errlen))
		return true;
	if (cn->c != NULL)
		redisFree(cn->c);
	cn->c = NULL;
	memset(cn->sha, 0, sizeof(cn->sha));
	return false;
}

/* forget_parent - drop the connections a fork left us (none are ours) */
static void
forget_parent(struct store_redis *sr)
{
	struct conn *cn, *next;
	pid_t pid = getpid();

	pthread_setspecific(sr->key, NULL);
	pthread_mutex_lock(&sr->lock);
	cn = sr->conns;
	pthread_mutex_unlock(&sr->lock);
	for (; cn != NULL; cn = next) {
		next = cn->next;
		if (cn->pid != pid)
			conn_free(cn);
	}
}

/* conn_get - this thread's connection, connected; NULL with the reason */
static struct conn *
conn_get(struct store_redis *sr, int64_t deadline, bool *fresh_r, char *err,
    size_t errlen)
{
	struct conn *cn = pthread_getspecific(sr->key);

	if (cn != NULL && cn->pid != getpid()) {
		forget_parent(sr);
		cn = NULL;
	}
	if (cn == NULL) {
		cn = pfl_xcalloc(1, sizeof(*cn));
		cn->owner = sr;
		cn->pid = getpid();
		pthread_mutex_lock(&sr->lock);
		if ((cn->next = sr->conns) != NULL)
			cn->next->prev = cn;
		sr->conns = cn;
		pthread_mutex_unlock(&sr->lock);
		pthread_setspecific(sr->key, cn);
	}
	*fresh_r = cn->c == NULL;
	if (cn->c == NULL && !connect_to(sr, cn, deadline, err, errlen))
		return NULL;
	return cn;
}

/* is_noscript - the server does not have our script (flushed, failover) */
static bool
is_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* send_request - one request on cn: the script by SHA, else by text */
static redisReply *
send_request(struct store_redis *sr, struct conn *cn, struct request *q,
    int64_t deadline, bool *timeout_r, char *err, size_t errlen)
{
	redisReply *r;

	if (q->script != NO_SCRIPT) {
		q->argv[0] = "EVALSHA";
		q->argv[1] = cn->sha[q->script];
		q->len[0] = 7;
		q->len[1] = strlen(cn->sha[q->script]);
	}
	r = send_argv(
	    sr, cn, deadline, q->argc, q->argv, q->len, timeout_r, err, errlen);
	if (r == NULL || q->script == NO_SCRIPT || !is_noscript(r))
		return r;
	freeReplyObject(r);
	q->argv[0] = "EVAL";
	q->argv[1] = scripts[q->script].text;
	q->len[0] = 4;
	q->len[1] = scripts[q->script].len;
	return send_argv(
	    sr, cn, deadline, q->argc, q->argv, q->len, timeout_r, err, errlen);
}

/* is_wrongtype - the key holds another type than the command wants */
static bool
is_wrongtype(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, "WRONGTYPE", 9) == 0;
}

/*
 * call - a request on this thread's connection, connecting as needed;
 * TEMPFAIL when no reply came in time or the server answered an error
 * (NOTFOUND for WRONGTYPE when the request says so).
 */
static enum pfl_store_status
call(struct store_redis *sr, struct request *q, int64_t deadline,
    redisReply **r, char *err, size_t errlen)
{
	struct conn *cn;
	bool fresh, timeout;
	int tries;

	for (tries = 0;; tries++) {
		if ((cn = conn_get(sr, deadline, &fresh, err, errlen)) == NULL)
			return PFL_STORE_TEMPFAIL;
		*r = send_request(sr, cn, q, deadline, &timeout, err, errlen);
		if (*r != NULL)
			break;
		redisFree(cn->c); /* unusable after an error */
		cn->c = NULL;
		/* an idle connection found dead: the server restarted */
		if (fresh || timeout || tries > 0)
			return PFL_STORE_TEMPFAIL;
	}
	if ((*r)->type != REDIS_REPLY_ERROR)
		return PFL_STORE_OK;
	if (q->wrongtype_none && is_wrongtype(*r)) {
		freeReplyObject(*r);
		*r = NULL;
		return PFL_STORE_NOTFOUND;
	}
	expect(sr, *r, REDIS_REPLY_ARRAY, q->argv[0], err, errlen);
	*r = NULL;
	return PFL_STORE_TEMPFAIL;
}

/* key_name - "pfl:{KEY}" into buf (big enough for any valid key) */
static size_t
key_name(char *buf, size_t n, const char *key)
{
	return (size_t)snprintf(buf, n, KEY_HEAD "%s}", key);
}

/* Numbers for the script, as decimal strings. */
struct script_args {
	char name[PFL_STORE_KEY_MAX + 8];
	char t[24], width[16], count[16], n[24], limit[24];
};

/*
 * run_script - the window script in mode on key; out gets its five
 * numbers (admitted, total, bucket, next_free, live: non-zero when a
 * bucket counts).
 */
static enum pfl_store_status
run_script(struct store_redis *sr, const char *mode, const char *key,
    const struct pfl_window *w, time_t t, uint64_t n, uint64_t limit,
    long long out[5], char *err, size_t errlen)
{
	struct script_args a;
	const char *argv[10] = { NULL, NULL, "1", a.name, mode, a.t, a.width,
		a.count, a.n, a.limit };
	size_t len[10] = { 0 };
	struct request q = { 10, argv, len, SCRIPT_ONE, false };
	enum pfl_store_status s;
	redisReply *r;
	size_t i;

	key_name(a.name, sizeof(a.name), key);
	snprintf(a.t, sizeof(a.t), "%lld", (long long)t);
	snprintf(a.width, sizeof(a.width), "%u", w->bucket_s);
	snprintf(a.count, sizeof(a.count), "%u", w->nbuckets);
	snprintf(a.n, sizeof(a.n), "%llu", (unsigned long long)n);
	snprintf(a.limit, sizeof(a.limit), "%llu", (unsigned long long)limit);
	for (i = 2; i < 10; i++)
		q.len[i] = strlen(q.argv[i]);
	s = call(sr, &q, now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && r->elements == 5 && i < 5 &&
	     r->element[i]->type == REDIS_REPLY_INTEGER;
	     i++)
		out[i] = r->element[i]->integer;
	freeReplyObject(r);
	if (i == 5)
		return PFL_STORE_OK;
	pfl_store_error(
	    err, errlen, "redis %s: unexpected reply from script", sr->name);
	return PFL_STORE_TEMPFAIL;
}

/* redis_window_add - the window add as one script on the server */
static enum pfl_store_status
redis_window_add(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r, char *err, size_t errlen)
{
	enum pfl_store_status s;
	long long out[5];

	s = run_script((struct store_redis *)st, "add", key, w, now, n, limit,
	    out, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	r->admitted = out[0] == 1;
	r->total = out[1] < 0 ? 0 : (uint64_t)out[1];
	r->bucket = (time_t)out[2];
	r->next_free = (time_t)out[3];
	return PFL_STORE_OK;
}

/* The most text one op of the batch needs: its key's name and 4 numbers. */
#define MANY_OP_TEXT (PFL_STORE_KEY_MAX + 8 + 4 * 24)

/*
 * The arguments of the batch script: argv and len (4 + 5 * nops each)
 * and the text they point into (key names and numbers), all malloc'd.
 */
struct many_req {
	const char **argv;
	size_t *len;
	int argc;
	char *text, *p; /* the text; where the next argument goes */
	size_t left;    /* bytes left at p */
};

/* many_arg - append one argument, formatted into the text */
static void many_arg(struct many_req *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
many_arg(struct many_req *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->p, m->left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= m->left)
		abort(); /* the text is sized for the longest arguments */
	m->argv[m->argc] = m->p;
	m->len[m->argc++] = (size_t)n;
	m->p += n + 1;
	m->left -= (size_t)n + 1;
}

/* many_req_new - the batch script's arguments for ops at now */
static void
many_req_new(struct many_req *m, const struct pfl_window_op *ops, size_t nops,
    time_t now)
{
	size_t i, argc = 4 + 5 * nops;

	m->argv = pfl_xcalloc(argc, sizeof(*m->argv));
	m->len = pfl_xcalloc(argc, sizeof(*m->len));
	m->left = nops * MANY_OP_TEXT + 64;
	m->text = m->p = pfl_xmalloc(m->left);
	m->argc = 2; /* EVALSHA and the SHA1 go in when it is sent */
	many_arg(m, "%zu", nops);
	for (i = 0; i < nops; i++)
		many_arg(m, KEY_HEAD "%s}", ops[i].key);
	many_arg(m, "%lld", (long long)now);
	for (i = 0; i < nops; i++) {
		many_arg(m, "%u", ops[i].w.bucket_s);
		many_arg(m, "%u", ops[i].w.nbuckets);
		many_arg(m, "%llu", (unsigned long long)ops[i].n);
		many_arg(m, "%llu", (unsigned long long)ops[i].limit);
	}
}

/* many_req_free - free the arguments */
static void
many_req_free(struct many_req *m)
{
	free(m->argv);
	free(m->len);
	free(m->text);
}

/* reply_int - element i of an array reply, when it is an integer */
static bool
reply_int(const redisReply *r, size_t i, long long *v)
{
	if (r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
	    r->element[i]->type != REDIS_REPLY_INTEGER)
		return false;
	*v = r->element[i]->integer;
	return true;
}

/* many_admitted - the results of a batch every op of which admitted */
static bool
many_admitted(const redisReply *r, size_t nops, struct pfl_window_result *res)
{
	long long total, bucket;
	size_t i;

	if (r->elements != 2 + 2 * nops)
		return false;
	for (i = 0; i < nops; i++) {
		if (!reply_int(r, 2 + 2 * i, &total) ||
		    !reply_int(r, 3 + 2 * i, &bucket))
			return false;
		res[i].admitted = true;
		res[i].total = total < 0 ? 0 : (uint64_t)total;
		res[i].bucket = (time_t)bucket;
	}
	return true;
}

/*
 * many_reply - the batch script's reply into res and *at_r: OK, or
 * TEMPFAIL for a key that holds a value; -1 when the reply is none the
 * script gives
 */
static int
many_reply(struct store_redis *sr, const redisReply *r, size_t nops,
    struct pfl_window_result *res, size_t *at_r, char *err, size_t errlen)
{
	long long kind, at, total, bucket, next;

	if (!reply_int(r, 0, &kind) || !reply_int(r, 1, &at) || at < 0 ||
	    (size_t)at > nops)
		return -1;
	if (kind == 0)
		return (size_t)at == nops && many_admitted(r, nops, res)
		    ? PFL_STORE_OK
		    : -1;
	if ((size_t)at == nops)
		return -1;
	*at_r = (size_t)at;
	if (kind == 2) {
		/* what the window script says of such a key */
		pfl_store_error(err, errlen,
		    "redis %s: EVALSHA: key holds a value, not a window",
		    sr->name);
		return PFL_STORE_TEMPFAIL;
	}
	if (kind != 1 || r->elements != 5 || !reply_int(r, 2, &total) ||
	    !reply_int(r, 3, &bucket) || !reply_int(r, 4, &next))
		return -1;
	res[at].total = total < 0 ? 0 : (uint64_t)total;
	res[at].bucket = (time_t)bucket;
	res[at].next_free = (time_t)next;
	return PFL_STORE_OK;
}

/* redis_window_add_many - all the adds or none, in one script call */
static enum pfl_store_status
redis_window_add_many(struct pfl_store *st, const struct pfl_window_op *ops,
    size_t nops, time_t now, struct pfl_window_result *res, size_t *at_r,
    char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	struct many_req m;
	struct request q;
	redisReply *r;
	int s;

	many_req_new(&m, ops, nops, now);
	q = (struct request){ m.argc, m.argv, m.len, SCRIPT_MANY, false };
	*at_r = 0; /* a failure of the call belongs to no op */
	s = call(sr, &q, now_ms() + sr->base.timeout_ms, &r, err, errlen);
	many_req_free(&m);
	if (s != PFL_STORE_OK)
		return s;
	*at_r = nops;
	s = many_reply(sr, r, nops, res, at_r, err, errlen);
	freeReplyObject(r);
	if (s == PFL_STORE_OK)
		return PFL_STORE_OK;
	memset(res, 0, nops * sizeof(*res));
	if (s < 0) {
		*at_r = 0;
		pfl_store_error(err, errlen,
		    "redis %s: unexpected reply from script", sr->name);
	}
	return PFL_STORE_TEMPFAIL;
}

/* redis_window_total - the window's count, changing nothing */
static enum pfl_store_status
redis_window_total(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t *total_r, char *err,
    size_t errlen)
{
	enum pfl_store_status s;
	long long out[5];

	s = run_script((struct store_redis *)st, "total", key, w, now, 0, 0,
	    out, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	*total_r = out[1] < 0 ? 0 : (uint64_t)out[1];
	return out[4] > 0 ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* redis_window_release - take back a reservation */
static enum pfl_store_status
redis_window_release(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t bucket, uint64_t n, char *err,
    size_t errlen)
{
	long long out[5];

	return run_script((struct store_redis *)st, "release", key, w, bucket,
	    n, 0, out, err, errlen);
}

/* redis_put - SET the key's string, with EX when it has a time to live */
static enum pfl_store_status
redis_put(struct pfl_store *st, const char *key, const void *val, size_t len,
    unsigned ttl_s, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	char name[PFL_STORE_KEY_MAX + 8], ttl[16];
	const char *argv[5] = { "SET", name, val, "EX", ttl };
	size_t lens[5] = { 3, 0, len, 2, 0 };
	struct request q = { ttl_s ? 5 : 3, argv, lens, NO_SCRIPT, false };
	enum pfl_store_status s;
	redisReply *r;

	lens[1] = key_name(name, sizeof(name), key);
	lens[4] = (size_t)snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	s = call(sr, &q, now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	return expect(sr, r, REDIS_REPLY_STATUS, "SET", err, errlen)
	    ? PFL_STORE_OK
	    : PFL_STORE_TEMPFAIL;
}

/* redis_get - GET the key's string; a window's hash is no value */
static enum pfl_store_status
redis_get(struct pfl_store *st, const char *key, void *buf, size_t n,
    size_t *len_r, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	char name[PFL_STORE_KEY_MAX + 8];
	const char *argv[2] = { "GET", name };
	size_t len[2] = { 3, 0 };
	struct request q = { 2, argv, len, NO_SCRIPT, true };
	enum pfl_store_status s;
	redisReply *r;

	q.len[1] = key_name(name, sizeof(name), key);
	s = call(sr, &q, now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return PFL_STORE_NOTFOUND;
	}
	if (r->type == REDIS_REPLY_STRING) {
		memcpy(buf, r->str, r->len < n ? r->len : n);
		*len_r = r->len;
		freeReplyObject(r);
		return PFL_STORE_OK;
	}
	freeReplyObject(r);
	pfl_store_error(
	    err, errlen, "redis %s: unexpected reply to GET", sr->name);
	return PFL_STORE_TEMPFAIL;
}

/* redis_del - forget a key */
static enum pfl_store_status
redis_del(struct pfl_store *st, const char *key, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	char name[PFL_STORE_KEY_MAX + 8];
	const char *argv[2] = { "DEL", name };
	size_t len[2] = { 3, 0 };
	struct request q = { 2, argv, len, NO_SCRIPT, false };
	enum pfl_store_status s;
	redisReply *r;
	bool gone;

	q.len[1] = key_name(name, sizeof(name), key);
	s = call(sr, &q, now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	gone = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return gone ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* glob_quote - prefix with the SCAN MATCH pattern characters escaped */
static void
glob_quote(char *buf, size_t n, const char *prefix)
{
	size_t o = 0;

	o = (size_t)snprintf(buf, n, "%s", KEY_HEAD);
	for (; *prefix != '\0' && o + 3 < n; prefix++) {
		if (strchr("*?[]\\", *prefix) != NULL)
			buf[o++] = '\\';
		buf[o++] = *prefix;
	}
	buf[o++] = '*';
	buf[o] = '\0';
}

struct key_list {
	char **keys;
	size_t n, cap;
};

/* keep_names - add the store keys among SCAN's names to the list */
static void
keep_names(struct key_list *l, const redisReply *names, size_t plen)
{
	const redisReply *e;
	size_t i, hlen = strlen(KEY_HEAD);

	for (i = 0; i < names->elements; i++) {
		e = names->element[i];
		if (e->type != REDIS_REPLY_STRING || e->len < hlen + 1 + plen ||
		    e->str[e->len - 1] != '}' || memchr(e->str, 0, e->len))
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			l->keys =
			    pfl_xrealloc(l->keys, l->cap * sizeof(char *));
		}
		l->keys[l->n++] =
		    pfl_xstrndup(e->str + hlen, e->len - hlen - 1);
	}
}

/* scan_step - one SCAN; *cursor moves on ("0" at the end) */
static enum pfl_store_status
scan_step(struct store_redis *sr, char cursor[32], const char *pattern,
    size_t plen, struct key_list *l, int64_t deadline, char *err, size_t errlen)
{
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
		"1000" };
	size_t len[6] = { 4, strlen(cursor), 5, strlen(pattern), 5, 4 };
	struct request q = { 6, argv, len, NO_SCRIPT, false };
	enum pfl_store_status s;
	redisReply *r;

	if ((s = call(sr, &q, deadline, &r, err, errlen)) != PFL_STORE_OK)
		return s;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= 32 ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		pfl_store_error(
		    err, errlen, "redis %s: unexpected SCAN reply", sr->name);
		return PFL_STORE_TEMPFAIL;
	}
	memcpy(cursor, r->element[0]->str, r->element[0]->len);
	cursor[r->element[0]->len] = '\0';
	keep_names(l, r->element[1], plen);
	freeReplyObject(r);
	return PFL_STORE_OK;
}

/* by_name - qsort order of key pointers */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* redis_list - SCAN for the prefix, then fn once per key in order */
static enum pfl_store_status
redis_list(struct pfl_store *st, const char *prefix,
    int (*fn)(const char *, void *), void *arg, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	int64_t deadline = now_ms() + sr->base.timeout_ms;
	char cursor[32] = "0", *pattern;
	size_t i, plen = strlen(prefix), n = 2 * plen + 8;
	struct key_list l = { NULL, 0, 0 };
	enum pfl_store_status s;
	bool stop = false;

	pattern = pfl_xmalloc(n);
	glob_quote(pattern, n, prefix);
	do
		s = scan_step(
		    sr, cursor, pattern, plen, &l, deadline, err, errlen);
	while (s == PFL_STORE_OK && strcmp(cursor, "0") != 0);
	free(pattern);
	if (l.n > 1)
		qsort(l.keys, l.n, sizeof(char *), by_name);
	for (i = 0; s == PFL_STORE_OK && !stop && i < l.n; i++)
		/* SCAN may name a key twice */
		if ((i == 0 || strcmp(l.keys[i], l.keys[i - 1]) != 0) &&
		    fn(l.keys[i], arg) != 0)
			stop = true;
	for (i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	return s;
}

const struct pfl_store_ops pfl_store_redis_ops = {
	.kind = redis_kind,
	.open = redis_open,
	.close = redis_close,
	.window_add = redis_window_add,
	.window_add_many = redis_window_add_many,
	.window_total = redis_window_total,
	.window_release = redis_window_release,
	.put = redis_put,
	.get = redis_get,
	.del = redis_del,
	.list = redis_list,
};
