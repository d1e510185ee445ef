/**
 * Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), decoded to the JSON
 * the same object would have been: kubectl's typed commands (create token, auth can-i/whoami, create role,
 * rolebinding, serviceaccount...) send their bodies this way. The envelope is the magic "k8s\0" and a
 * runtime.Unknown {typeMeta, raw}; raw is the kind's message, read with the field table generated from
 * k8s.io/api 1.32 (data/protobuf-types.ts). A zero value Go would omit from JSON (omitempty, not a pointer) is
 * dropped, so defaults and validation see what a JSON client would have sent.
 */
import { PROTOBUF_TYPES } from './data/protobuf-types.js';

/** [number, json name, type, repeated (0|1), keeps its zero value (0|1)] */
type Field = [number, string, string, number, number];
interface Message {
  f: Field[];
  array?: number;
}
interface Tables {
  messages: Record<string, Message>;
  kinds: Record<string, string>;
}

let tables: Tables | undefined;
const load = (): Tables => (tables ??= JSON.parse(PROTOBUF_TYPES) as Tables);

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const META = 'k8s.io.apimachinery.pkg.apis.meta.v1.';

export class ProtobufError extends Error {}

/** One wire value: varints as bigint, length-delimited as bytes, fixed ones as their bytes. */
type Wire = { num: number; type: number; varint?: bigint; bytes?: Buffer };

function readWire(buf: Buffer): Wire[] {
  const out: Wire[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new ProtobufError('unexpected EOF');
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtobufError('integer overflow');
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const num = key >>> 3;
    const type = key & 7;
    if (type === 0) out.push({ num, type, varint: varint() });
    else if (type === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new ProtobufError('unexpected EOF');
      out.push({ num, type, bytes: buf.subarray(i, i + len) });
      i += len;
    } else if (type === 1 || type === 5) {
      const len = type === 1 ? 8 : 4;
      out.push({ num, type, bytes: buf.subarray(i, i + len) });
      i += len;
    } else throw new ProtobufError(`illegal wireType ${type}`);
  }
  return out;
}

const signed64 = (v: bigint) => Number(BigInt.asIntN(64, v));

function scalar(type: string, w: Wire): unknown {
  switch (type) {
    case 'string':
      return (w.bytes ?? Buffer.alloc(0)).toString('utf8');
    case 'bytes':
      return (w.bytes ?? Buffer.alloc(0)).toString('base64');
    case 'bool':
      return w.varint !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, w.varint ?? 0n));
    case 'int64':
      return signed64(w.varint ?? 0n);
    case 'uint32':
    case 'uint64':
      return Number(w.varint ?? 0n);
    case 'double':
      return w.bytes!.readDoubleLE(0);
    case 'float':
      return w.bytes!.readFloatLE(0);
    default:
      throw new ProtobufError(`unknown scalar type ${type}`);
  }
}

const isZero = (v: unknown) =>
  v === '' ||
  v === 0 ||
  v === false ||
  v === null ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Go's RFC 3339 with the fraction trimmed as metav1.Time (seconds) or MicroTime (six digits) write it. */
function time(seconds: number, nanos: number, micro: boolean): string | null {
  if (seconds === 0 && nanos === 0) return null;
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const h = Math.floor(ns / 3.6e12);
  const m = Math.floor((ns % 3.6e12) / 6e10);
  const s = (ns % 6e10) / 1e9;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

function decodeMessage(typeName: string, buf: Buffer): unknown {
  const t = load();
  const msg = t.messages[typeName];
  if (!msg) throw new ProtobufError(`no protobuf message ${typeName}`);
  const wires = readWire(buf);
  const raw: Record<string, unknown> = {};
  for (const w of wires) {
    const field = msg.f.find((f) => f[0] === w.num);
    if (!field) continue; // unknown fields: dropped, as the generated Unmarshal skips them
    const [, name, type, repeated] = field;
    if (type.startsWith('map:')) {
      const [, kt, vt] = type.split(':');
      const entry = readWire(w.bytes ?? Buffer.alloc(0));
      const k = entry.find((e) => e.num === 1);
      const v = entry.find((e) => e.num === 2);
      const key = k ? String(scalar(kt, k)) : '';
      const val = valueOf(vt, v ?? { num: 2, type: 2, bytes: Buffer.alloc(0) });
      const m = (raw[name] ??= {}) as Record<string, unknown>;
      m[key] = val;
      continue;
    }
    if (repeated && w.type === 2 && isPackable(type)) {
      // Packed repeated scalars: a run of values in one length-delimited field.
      const list = (raw[name] ??= []) as unknown[];
      list.push(...unpack(type, w.bytes!));
      continue;
    }
    const value = valueOf(type, w);
    if (repeated) ((raw[name] ??= []) as unknown[]).push(value);
    else raw[name] = value;
  }
  return special(typeName, msg, raw);
}

const isPackable = (t: string) => /^(bool|int32|int64|uint32|uint64|double|float)$/.test(t);

function unpack(type: string, bytes: Buffer): unknown[] {
  if (type === 'double' || type === 'float') {
    const size = type === 'double' ? 8 : 4;
    const out: unknown[] = [];
    for (let i = 0; i + size <= bytes.length; i += size)
      out.push(type === 'double' ? bytes.readDoubleLE(i) : bytes.readFloatLE(i));
    return out;
  }
  // Re-read the run as varints under a fake key.
  const out: unknown[] = [];
  let i = 0;
  while (i < bytes.length) {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
    }
    out.push(scalar(type, { num: 0, type: 0, varint: v }));
  }
  return out;
}

function valueOf(type: string, w: Wire): unknown {
  if (load().messages[type]) return decodeMessage(type, w.bytes ?? Buffer.alloc(0));
  return scalar(type, w);
}

/** Types whose JSON form is not their message's: times, quantities, int-or-strings, raw JSON, named slices. */
function special(typeName: string, msg: Message, raw: Record<string, unknown>): unknown {
  switch (typeName) {
    case `${META}Time`:
      return time(Number(raw.seconds ?? 0), Number(raw.nanos ?? 0), false);
    case `${META}MicroTime`:
      return time(Number(raw.seconds ?? 0), Number(raw.nanos ?? 0), true);
    case `${META}Duration`:
      return goDuration(Number(raw.duration ?? 0));
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return raw.string ?? '0';
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return Number(raw.type ?? 0) === 1 ? (raw.strVal ?? '') : Number(raw.intVal ?? 0);
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
    case `${META}FieldsV1`: {
      const b64 = (raw.raw ?? raw.Raw) as string | undefined;
      if (!b64) return {};
      return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as unknown;
    }
  }
  if (msg.array) return raw.items ?? [];
  // Zero values Go's JSON would omit (omitempty on a non-pointer) go; pointers and required fields stay.
  const out: Record<string, unknown> = {};
  for (const f of msg.f) {
    if (!(f[1] in raw)) continue;
    const v = raw[f[1]];
    if (v === null) continue;
    if (!f[4] && isZero(v)) continue;
    out[f[1]] = v;
  }
  return out;
}

/** Whether a Content-Type names the protobuf encoding. */
export const isProtobuf = (contentType: string | undefined): boolean =>
  (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/vnd.kubernetes.protobuf';

/**
 * A protobuf request body as its JSON object (apiVersion and kind from the envelope's typeMeta). Throws
 * ProtobufError for a body that is not the envelope, an unknown kind, or a malformed message.
 */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new ProtobufError(
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  const unknown = readWire(body.subarray(4));
  const typeMeta = unknown.find((w) => w.num === 1);
  const raw = unknown.find((w) => w.num === 2)?.bytes ?? Buffer.alloc(0);
  const tm = typeMeta ? readWire(typeMeta.bytes ?? Buffer.alloc(0)) : [];
  const apiVersion = tm.find((w) => w.num === 1)?.bytes?.toString('utf8') ?? '';
  const kind = tm.find((w) => w.num === 2)?.bytes?.toString('utf8') ?? '';
  const gv = apiVersion.includes('/') ? apiVersion : `/${apiVersion}`;
  const typeName = load().kinds[`${gv}/${kind}`];
  if (!typeName) throw new ProtobufError(`no kind "${kind}" is registered for version "${apiVersion}"`);
  const obj = decodeMessage(typeName, raw) as Record<string, unknown>;
  return { apiVersion, kind, ...obj };
}
