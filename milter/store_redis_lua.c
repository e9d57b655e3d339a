/*
 * NAME
 *	store_redis_lua - the Redis backend's server-side scripts
 * DESCRIPTION
 *	The window script (one add, total or release on one key) and the
 *	batch script (the adds of several keys, all or none), as Lua that
 *	Redis runs atomically; they mirror the bucket arithmetic of
 *	store.c. The layout they keep is described in store_redis.c.
 */
#include <autoconfig.h>

#include "store_redis.h"

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
 * nearly every call, where each key is named once and either does not
 * exist or has "win" and "sum" of the op's shape with no bucket gone
 * from the window since the last add (so the running sum is the
 * window's count), and every op admits. It reads each key by one HMGET
 * (a key with none of the three fields also by EXISTS), as open does,
 * and writes what commit would: for an add to a key that exists, HSET
 * of the bucket and "sum", with EXPIRE when the bucket is new; for an
 * add to a new key, HSET of the bucket, "sum" and "win" and EXPIRE; for
 * n = 0 (a total) nothing, unless the sum is 0 (the general path drops
 * "sum" and "win" then). Plain locals stand in for the general path's
 * tables and functions, which cost more than the Redis commands. On
 * anything else it stops before writing and the general path below
 * does the whole batch again.
 */
#define LUA_FAST                                                               \
	"local now, nk = tonumber(ARGV[1]), #KEYS\n"                           \
	"do\n"                                                                 \
	"  local fmt, sub, match, num = string.format, string.sub, "           \
	"string.match, tonumber\n"                                             \
	"  local seen, out, cfs, ns, sums, wins, ttls = {}, {0, nk}, "         \
	"{}, {}, {}, {}, {}\n"                                                 \
	"  local i = 1\n"                                                      \
	"  while i <= nk do\n"                                                 \
	"    local key, j = KEYS[i], 6 * i - 4\n"                              \
	"    if seen[key] then break end\n"                                    \
	"    seen[key] = true\n"                                               \
	"    local b, nb = num(ARGV[j]), num(ARGV[j + 1])\n"                   \
	"    local n, limit = num(ARGV[j + 2]), num(ARGV[j + 3])\n"            \
	"    local cur, cf, pre = now - now % b, ARGV[j + 4], ARGV[j + "       \
	"5]\n"                                                                 \
	"    if not (n >= 0 and n <= limit) then break end\n"                  \
	"    local r = redis.pcall('HMGET', key, 'win', 'sum', cf)\n"          \
	"    if r.err then break end\n"                                        \
	"    local sum = 0\n"                                                  \
	"    if r[1] then\n"                                                   \
	"      if sub(r[1], 1, #pre) ~= pre then break end\n"                  \
	"      local lo, rs = match(r[1], '^(%-?%d+) (%-?%d+)$', #pre "        \
	"+ 1)\n"                                                               \
	"      sum = num(r[2])\n"                                              \
	"      if not (lo and sum and (sum > 0 or (sum == 0 and n > "          \
	"0))) then break end\n"                                                \
	"      lo, rs = num(lo), num(rs)\n"                                    \
	"      if cur >= rs + b * nb or cur - b * nb - b >= lo or cur "        \
	"< lo then break end\n"                                                \
	"      if sum > limit - n then break end\n"                            \
	"      if n > 0 then\n"                                                \
	"        cfs[i], ns[i], sums[i] = cf, (num(r[3]) or 0) + n, "          \
	"sum + n\n"                                                            \
	"        if not r[3] then ttls[i] = b * (nb + 1) end\n"                \
	"      end\n"                                                          \
	"    else\n"                                                           \
	"      if r[2] or r[3] or redis.call('EXISTS', key) == 1 then "        \
	"break end\n"                                                          \
	"      if n > 0 then\n"                                                \
	"        cfs[i], ns[i], sums[i] = cf, n, n\n"                          \
	"        wins[i], ttls[i] = pre .. fmt('%d %d', cur, cur), b * "       \
	"(nb + 1)\n"                                                           \
	"      end\n"                                                          \
	"    end\n"                                                            \
	"    out[2 * i + 1], out[2 * i + 2] = sum, cur\n"                      \
	"    i = i + 1\n"                                                      \
	"  end\n"                                                              \
	"  if i > nk then\n"                                                   \
	"    for i = 1, nk do\n"                                               \
	"      if wins[i] then\n"                                              \
	"        redis.call('HSET', KEYS[i], cfs[i], fmt('%d', ns[i]), "       \
	"'sum', fmt('%d', sums[i]), 'win', wins[i])\n"                         \
	"      elseif cfs[i] then\n"                                           \
	"        redis.call('HSET', KEYS[i], cfs[i], fmt('%d', ns[i]), "       \
	"'sum', fmt('%d', sums[i]))\n"                                         \
	"      end\n"                                                          \
	"      if ttls[i] then redis.call('EXPIRE', KEYS[i], ttls[i]) "        \
	"end\n"                                                                \
	"    end\n"                                                            \
	"    return out\n"                                                     \
	"  end\n"                                                              \
	"end\n"

/*
 * The batch script: the window adds of several keys, all or none.
 * KEYS[1..N] the hashes; ARGV[1] now, then per key its bucket width,
 * number of buckets, n, limit, and two texts the fast path compares
 * with what it reads, which the client formats faster than Lua: the
 * field of now's bucket ("START:WIDTH") and how "win" begins ("WIDTH
 * NBUCKETS "). The first pass reads each key once
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
    "  local k, s = KEYS[i], ARGV[6 * i - 4] .. ':' .. ARGV[6 * i - 3]\n"
    "  if shape[k] == nil then shape[k] = s\n"
    "  elseif shape[k] ~= s then shape[k] = false end\n"
    "end\n"
    "local out = {0, #KEYS}\n"
    "for i = 1, #KEYS do\n"
    "  local key, j = KEYS[i], 6 * i - 4\n"
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
const struct pfl_redis_script pfl_redis_scripts[NSCRIPTS] = {
	{ script, sizeof(script) - 1 },
	{ many_script, sizeof(many_script) - 1 },
};
