/**
 * The Lua that runs inside Redis. Every change to a semaphore's state is one script, so each step
 * (grant, enqueue, renew, release, hand-off) is atomic on the server and costs one round trip.
 *
 * A semaphore `name` lives in seven keys sharing the hash tag `{prefix:name}` (so they sit in one
 * Cluster slot):
 *   holders  ZSET  lease id  -> expiry (server ms)
 *   hinfo    HASH  lease id  -> "n:fence"
 *   queue    ZSET  waiter id -> ticket (FIFO order)
 *   winfo    HASH  waiter id -> "n:ttl:clientId"
 *   clients  ZSET  client id -> liveness expiry (server ms): a waiter whose process stopped
 *                  heartbeating is skipped when it reaches the head
 *   seq      STRING the last ticket or fencing token handed out
 *   used     STRING permits held now (absent when 0)
 *   gone     ZSET  id -> until (server ms): ids withdrawn before Redis saw them enter
 * A waiter's id becomes its lease's id when it is granted.
 *
 * Calls from one process can reach Redis out of order (an EVALSHA that met NOSCRIPT is re-sent
 * as EVAL after calls sent later, and a pooled or cluster client has several connections), so a
 * withdrawal may run before the enter it withdraws. It then leaves the id in \`gone\` for a while,
 * and an enter for a gone id does nothing: a withdrawn wait can never be queued or granted later.
 *
 * Tickets and fencing tokens come from one sequence: max(last + 1, server time in µs). So they
 * keep increasing even when Redis restarts without its data (as long as its clock does not step
 * back), and stay below 2^53 for the next ~250 years.
 *
 * Every number that goes back into Redis is formatted with %.0f: Lua's default number format
 * (%.14g) would round a 16-digit ticket.
 */
import { createHash } from "node:crypto";

/** A script with its SHA1, for EVALSHA. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/** Reply codes of the `enter` op (0 is "refused", which the client never tests for). */
export const GRANTED = 1;
export const QUEUED = 2;
export const QUEUE_FULL = 3;
export const GONE = 4;

export const SEMAPHORE = script(`
local H, HI, Q, WI, C, SEQ, USED, GONE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local op, chan, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowus = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function f(x) return string.format('%.0f', x) end
local used = tonumber(redis.call('GET', USED) or '0')
local used0 = used
local granted = {}

local function nextseq()
  local v = math.max(tonumber(redis.call('GET', SEQ) or '0') + 1, nowus)
  redis.call('SET', SEQ, f(v), 'PX', 3600000)
  return v
end
local function drop(id)
  local info = redis.call('HGET', HI, id)
  redis.call('ZREM', H, id)
  if not info then return false end
  redis.call('HDEL', HI, id)
  used = used - tonumber(string.match(info, '^(%d+)'))
  return true
end
local function unqueue(id)
  if redis.call('ZREM', Q, id) == 0 then return false end
  redis.call('HDEL', WI, id)
  return true
end
local function grant(id, n, ttl)
  local fence = nextseq()
  local exp = now + ttl
  redis.call('ZADD', H, f(exp), id)
  redis.call('HSET', HI, id, n .. ':' .. f(fence))
  used = used + n
  return fence, exp
end
local function held(id)
  local exp = redis.call('ZSCORE', H, id)
  if not exp then return nil end
  local info = redis.call('HGET', HI, id)
  return tonumber(string.match(info, ':(%d+)$')), tonumber(exp)
end
local function enqueue(id, n, ttl, cid, ticket)
  if ticket == 0 then ticket = nextseq() end
  redis.call('ZADD', Q, f(ticket), id)
  redis.call('HSET', WI, id, n .. ':' .. ttl .. ':' .. cid)
  return ticket
end
-- Withdraws or releases an id, whichever it is now; an id Redis never saw is remembered as gone.
local function withdraw(id, ttl)
  if unqueue(id) then return 1 end
  if drop(id) then return 2 end
  redis.call('ZADD', GONE, f(now + 2 * tonumber(ttl)), id)
  redis.call('PEXPIRE', GONE, 2 * tonumber(ttl))
  return 0
end
local function touch(cid, ttl)
  redis.call('ZADD', C, f(now + tonumber(ttl)), cid)
  redis.call('PEXPIRE', C, 2 * tonumber(ttl))
end
-- Expired leases free their permits. Lazily: only when permits are short (or for a renewal or a
-- status), so an uncontended grant or release costs as few calls as possible.
local pruned = false
local function prune()
  if pruned then return end
  pruned = true
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', H, '-inf', now, 'LIMIT', 0, 256)) do drop(id) end
end
-- Serves the queue from its head while the head fits: strict FIFO, a large request is never
-- passed by smaller ones behind it. Waiters of dead processes are dropped on the way.
local function serve()
  while true do
    local id = redis.call('ZRANGE', Q, 0, 0)[1]
    if not id then return end
    local info = redis.call('HGET', WI, id)
    local n, ttl, cid
    if info then n, ttl, cid = string.match(info, '^(%d+):(%d+):(.+)$') end
    local alive = cid and redis.call('ZSCORE', C, cid)
    if alive and tonumber(alive) > now then
      n = tonumber(n)
      if used + n > limit then prune() end
      if used + n > limit then return end
      unqueue(id)
      local fence, exp = grant(id, n, tonumber(ttl))
      granted[#granted + 1] = id .. ':' .. f(fence) .. ':' .. f(exp)
    else
      unqueue(id)
    end
  end
end
local function finish(reply)
  if used ~= used0 then
    if used <= 0 then redis.call('DEL', USED) else redis.call('SET', USED, f(used)) end
  end
  if #granted > 0 then redis.call('PUBLISH', chan, table.concat(granted, ',')) end
  return reply
end


if op == 'enter' then
  -- 4 id, 5 n, 6 ttl, 7 clientId, 8 clientTtl, 9 ticket (0: new), 10 mode, 11 queue max (-1: none)
  local id, n, ttl, cid = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
  local ticket, mode, qmax = tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
  if redis.call('ZSCORE', GONE, id) then return finish({4, now}) end
  local fence, exp
  -- 12 retry: 1 when an earlier enter of this id may have reached Redis (it is idempotent).
  if ARGV[12] == '1' then
    fence, exp = held(id)
    if fence then return finish({1, now, fence, exp}) end
    local tk = redis.call('ZSCORE', Q, id)
    if tk then return finish({2, now, tonumber(tk)}) end
  end
  if redis.call('EXISTS', Q) == 1 then serve() end
  if used + n > limit then prune() end
  if redis.call('EXISTS', Q) == 0 and used + n <= limit then
    fence, exp = grant(id, n, tonumber(ttl))
    return finish({1, now, fence, exp})
  end
  if mode == 'try' then return finish({0, now}) end
  if ticket == 0 and qmax >= 0 and redis.call('ZCARD', Q) >= qmax then return finish({3, now}) end
  touch(cid, ARGV[8])
  ticket = enqueue(id, n, ttl, cid, ticket)
  serve()
  fence, exp = held(id)
  if fence then return finish({1, now, fence, exp}) end
  return finish({2, now, ticket})
elseif op == 'tick' then
  -- 4 clientId, 5 clientTtl, then: count + (id, ttl) leases to renew; count + ids to withdraw
  -- or release; count + (id, ticket, n, ttl) waiters to keep in line (re-enqueued if missing).
  local cid, i = ARGV[4], 7
  prune()
  redis.call('ZREMRANGEBYSCORE', C, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', GONE, '-inf', now)
  touch(cid, ARGV[5])
  local out = {now}
  for _ = 1, tonumber(ARGV[6]) do
    local id, ttl = ARGV[i], tonumber(ARGV[i + 1])
    i = i + 2
    if redis.call('ZSCORE', H, id) then
      local exp = now + ttl
      redis.call('ZADD', H, 'XX', f(exp), id)
      out[#out + 1] = exp
    else
      out[#out + 1] = 0
    end
  end
  local nx = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, nx do
    withdraw(ARGV[i], ARGV[5])
    i = i + 1
  end
  local nw = tonumber(ARGV[i])
  i = i + 1
  local ws = {}
  for k = 1, nw do
    local id = ARGV[i]
    ws[k] = id
    if not redis.call('ZSCORE', H, id) and not redis.call('ZSCORE', Q, id) and not redis.call('ZSCORE', GONE, id) then
      enqueue(id, ARGV[i + 2], ARGV[i + 3], cid, tonumber(ARGV[i + 1]))
    end
    i = i + 4
  end
  serve()
  for k = 1, nw do
    local fence, exp = held(ws[k])
    out[#out + 1] = fence or 0
    out[#out + 1] = exp or 0
  end
  return finish(out)
elseif op == 'release' then
  -- 4 id, 5 ttl: withdraws a waiter or releases a lease. 1: was queued, 2: was held, 0: neither.
  local r = withdraw(ARGV[4], ARGV[5])
  serve()
  return finish({r, now})
elseif op == 'status' then
  prune()
  serve()
  return finish({now, used, redis.call('ZCARD', H), redis.call('ZCARD', Q)})
end
return redis.error_reply('steward: unknown op ' .. tostring(op))
`);

/**
 * GCRA (the generic cell rate algorithm) over one key: the key holds the theoretical arrival time.
 * ARGV: perSecond, burst. Reply: {1, 0} allowed, or {0, retryAfterMs}.
 */
export const RATE = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local T = 1000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allowAt = tat + T - burst * T
if allowAt > now then return {0, math.ceil(allowAt - now)} end
redis.call('SET', KEYS[1], string.format('%.3f', tat + T), 'PX', math.ceil(tat + T - now) + 1)
return {1, 0}
`);
