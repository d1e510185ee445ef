/**
 * A set of field paths (structured-merge-diff's fieldpath.Set): sorted members at each level plus child sets,
 * with the set algebra the updater needs and the FieldsV1 encoding managedFields carry (`{"f:spec": {"f:replicas":
 * {}}}`, `"."` marking a node that is itself a member and has children).
 */
import { type JsonObject, isObject } from '../json.js';
import type { TypeRef } from '../schema.js';
import {
  type Path,
  type PathElement,
  UnknownPathElement,
  comparePE,
  deserializePE,
  serializePE,
} from './path.js';

interface Child {
  pe: PathElement;
  set: FieldSet;
}

function search<T>(arr: T[], pe: PathElement, get: (t: T) => PathElement): [number, boolean] {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePE(get(arr[mid]), pe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return [lo, lo < arr.length && comparePE(get(arr[lo]), pe) === 0];
}

const self = (pe: PathElement): PathElement => pe;
const childPE = (c: Child): PathElement => c.pe;

export class FieldSet {
  members: PathElement[] = [];
  children: Child[] = [];

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(p: Path): void {
    if (p.length === 0) return;
    const s = p.slice(0, -1).reduce<FieldSet>((set, pe) => set.descend(pe), this);
    const pe = p[p.length - 1];
    const [at, found] = search(s.members, pe, self);
    if (!found) s.members.splice(at, 0, pe);
  }

  addMember(pe: PathElement): void {
    const [at, found] = search(this.members, pe, self);
    if (!found) this.members.splice(at, 0, pe);
  }

  /** Merges `set` into the child set for `pe`. */
  attach(pe: PathElement, set: FieldSet): void {
    const [at, found] = search(this.children, pe, childPE);
    if (!found) this.children.splice(at, 0, { pe, set });
    else this.children[at] = { pe, set: this.children[at].set.union(set) };
  }

  /** The child set for `pe`, created when missing. */
  descend(pe: PathElement): FieldSet {
    const [at, found] = search(this.children, pe, childPE);
    if (found) return this.children[at].set;
    const set = new FieldSet();
    this.children.splice(at, 0, { pe, set });
    return set;
  }

  child(pe: PathElement): FieldSet | undefined {
    const [at, found] = search(this.children, pe, childPE);
    return found ? this.children[at].set : undefined;
  }

  hasMember(pe: PathElement): boolean {
    return search(this.members, pe, self)[1];
  }

  has(p: Path): boolean {
    if (p.length === 0) return false;
    const s = p.slice(0, -1).reduce<FieldSet | undefined>((set, pe) => set?.child(pe), this);
    return !!s && s.hasMember(p[p.length - 1]);
  }

  /** The paths below `pe`, without it (empty when none). */
  withPrefix(pe: PathElement): FieldSet {
    return this.child(pe) ?? new FieldSet();
  }

  empty(): boolean {
    return this.members.length === 0 && this.children.every((c) => c.set.empty());
  }

  size(): number {
    return this.members.length + this.children.reduce((n, c) => n + c.set.size(), 0);
  }

  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.members = mergeSorted(this.members, o.members);
    const byKey = new Map<string, Child>();
    for (const c of this.children) byKey.set(serializePE(c.pe), { pe: c.pe, set: c.set });
    for (const c of o.children) {
      const k = serializePE(c.pe);
      const prev = byKey.get(k);
      byKey.set(k, prev ? { pe: c.pe, set: prev.set.union(c.set) } : { pe: c.pe, set: c.set });
    }
    out.children = [...byKey.values()].sort((a, b) => comparePE(a.pe, b.pe));
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.members = this.members.filter((pe) => o.hasMember(pe));
    for (const c of this.children) {
      const oc = o.child(c.pe);
      if (!oc) continue;
      const r = c.set.intersection(oc);
      if (!r.empty()) out.children.push({ pe: c.pe, set: r });
    }
    return out;
  }

  /** Paths of this set that are not in `o` (members only: a member of `o` does not remove its subtree). */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.members = this.members.filter((pe) => !o.hasMember(pe));
    for (const c of this.children) {
      const oc = o.child(c.pe);
      if (!oc) {
        out.children.push(c);
        continue;
      }
      const d = c.set.difference(oc);
      if (!d.empty()) out.children.push({ pe: c.pe, set: d });
    }
    return out;
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.members = this.members.filter((pe) => !o.hasMember(pe));
    for (const c of this.children) {
      if (o.hasMember(c.pe)) continue;
      const oc = o.child(c.pe);
      if (!oc) {
        out.children.push(c);
        continue;
      }
      const d = c.set.recursiveDifference(oc);
      if (!d.empty()) out.children.push({ pe: c.pe, set: d });
    }
    return out;
  }

  /** Every member path, members of a level before its children (preorder). */
  iterate(f: (p: Path) => void, prefix: Path = []): void {
    for (const pe of this.members) f([...prefix, pe]);
    for (const c of this.children) c.set.iterate(f, [...prefix, c.pe]);
  }

  paths(): Path[] {
    const out: Path[] = [];
    this.iterate((p) => out.push(p));
    return out;
  }

  /** Adds as members the struct fields (declared in the schema) that only appear as parents. */
  ensureNamedFieldsAreMembers(type: TypeRef | undefined): FieldSet {
    const atom = type?.atom();
    const out = new FieldSet();
    out.members = [...this.members];
    for (const c of this.children) {
      let ct: TypeRef | undefined;
      if ('field' in c.pe && atom?.map) {
        const f = atom.map.fields.get(c.pe.field);
        if (f) {
          const [at, found] = search(out.members, c.pe, self);
          if (!found) out.members.splice(at, 0, c.pe);
        }
        ct = f?.type ?? atom.map.elem;
      } else if ('key' in c.pe && atom?.list) {
        ct = atom.list.elem;
      }
      out.children.push({ pe: c.pe, set: c.set.ensureNamedFieldsAreMembers(ct) });
    }
    return out;
  }

  /** FieldsV1: members and children merged in path-element order; "." marks a member that has children. */
  toFieldsV1(includeSelf = false): JsonObject {
    const out: JsonObject = {};
    if (includeSelf && (this.members.length || this.children.length)) out['.'] = {};
    let m = 0;
    let c = 0;
    while (m < this.members.length || c < this.children.length) {
      const mpe = this.members[m];
      const cn = this.children[c];
      const cmp = mpe && cn ? comparePE(mpe, cn.pe) : mpe ? -1 : 1;
      if (cmp < 0) {
        out[serializePE(mpe)] = {};
        m++;
      } else if (cmp > 0) {
        out[serializePE(cn.pe)] = cn.set.toFieldsV1(false);
        c++;
      } else {
        out[serializePE(cn.pe)] = cn.set.toFieldsV1(true);
        m++;
        c++;
      }
    }
    return out;
  }

  /** Reads FieldsV1; unknown path element kinds are skipped, malformed keys fail. */
  static fromFieldsV1(v: unknown): FieldSet {
    const [set] = readV1(v);
    return set ?? new FieldSet();
  }

  toString(): string {
    return JSON.stringify(this.toFieldsV1());
  }
}

function readV1(v: unknown): [FieldSet | undefined, boolean] {
  if (!isObject(v)) throw new Error(`expected an object, got ${JSON.stringify(v)}`);
  let children: FieldSet | undefined;
  let isMember = false;
  for (const [key, sub] of Object.entries(v)) {
    if (key === '.') {
      isMember = true;
      continue;
    }
    let pe: PathElement;
    try {
      pe = deserializePE(key);
    } catch (e) {
      if (e instanceof UnknownPathElement) continue;
      throw new Error(`parsing key as path element: ${(e as Error).message}`);
    }
    const [grand, childIsMember] = readV1(sub);
    if (childIsMember) {
      children ??= new FieldSet();
      const [at, found] = search(children.members, pe, self);
      if (!found) children.members.splice(at, 0, pe);
    }
    if (grand) {
      children ??= new FieldSet();
      const target = children.descend(pe);
      const merged = target.union(grand);
      target.members = merged.members;
      target.children = merged.children;
    }
  }
  if (!children) isMember = true;
  return [children, isMember];
}

function mergeSorted(a: PathElement[], b: PathElement[]): PathElement[] {
  const out: PathElement[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = comparePE(a[i], b[j]);
    if (c < 0) out.push(a[i++]);
    else if (c > 0) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out.concat(a.slice(i), b.slice(j));
}
