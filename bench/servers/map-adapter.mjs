// An in-memory adapter for oidc-provider that follows its documented adapter contract (upsert, find,
// findByUid, findByUserCode, consume, destroy, revokeByGrantId) on plain Maps. The adapter built into
// oidc-provider 9 keeps at most 1000 entries in an LRU cache, which would evict the authorization codes the
// benchmark issues ahead of a run, so this one has no size cap. Expired entries are dropped when read and by a
// sweep once a minute.

const entries = new Map();
const grantMembers = new Map();
const secondary = new Map();

const SWEEP_INTERVAL_MS = 60_000;

function isLive(entry) {
  return entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > Date.now());
}

function remove(key) {
  const entry = entries.get(key);
  if (!entry) return;
  entries.delete(key);
  const { grantId, uid, userCode } = entry.payload;
  if (grantId) grantMembers.get(grantId)?.delete(key);
  if (uid) secondary.delete(`uid:${uid}`);
  if (userCode) secondary.delete(`userCode:${userCode}`);
}

setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of entries) if (entry.expiresAt !== undefined && entry.expiresAt <= now) remove(key);
}, SWEEP_INTERVAL_MS).unref();

export class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    remove(key);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    entries.set(key, { payload, expiresAt });
    if (payload.grantId) {
      let members = grantMembers.get(payload.grantId);
      if (!members) grantMembers.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
    if (payload.uid) secondary.set(`uid:${payload.uid}`, id);
    if (payload.userCode) secondary.set(`userCode:${payload.userCode}`, id);
  }

  async find(id) {
    const key = this.key(id);
    const entry = entries.get(key);
    if (!isLive(entry)) {
      remove(key);
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    const id = secondary.get(`uid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = secondary.get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = entries.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    remove(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const members = grantMembers.get(grantId);
    if (!members) return;
    grantMembers.delete(grantId);
    for (const key of members) remove(key);
  }
}
