/**
 * The OpenAPI v2 document in gnostic's protobuf form (openapi_v2.Document, OpenAPIv2.proto), which kube-apiserver
 * serves for `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`. kubectl asks for it when it
 * validates on the client, as it does for kinds the server cannot validate (`kind: List`, what
 * `kubectl get -o yaml` writes for several objects), and it cannot read JSON in its place.
 * Only what kubectl's readers (kube-openapi's proto.NewOpenAPIData) take is written: swagger, info and the
 * definitions; vendor extensions, defaults, enums and examples carry their value as YAML text (JSON is YAML).
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** A protobuf message being written: fields appended in order, nested messages as length-delimited bytes. */
class Message {
  private readonly parts: Buffer[] = [];

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  private varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    const bytes: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      bytes.push(b);
    } while (v > 0n);
    this.parts.push(Buffer.from(bytes));
  }

  string(field: number, s: string | undefined): this {
    if (s) this.bytes(field, Buffer.from(s, 'utf8'));
    return this;
  }

  bytes(field: number, b: Buffer): this {
    this.key(field, 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  message(field: number, m: Message): this {
    return this.bytes(field, m.done());
  }

  bool(field: number, b: boolean | undefined): this {
    if (b) {
      this.key(field, 0);
      this.varint(1);
    }
    return this;
  }

  int64(field: number, n: number | undefined): this {
    if (n) {
      this.key(field, 0);
      this.varint(Math.trunc(n));
    }
    return this;
  }

  double(field: number, n: number | undefined): this {
    if (n !== undefined && n !== 0) {
      this.key(field, 1);
      const b = Buffer.alloc(8);
      b.writeDoubleLE(n);
      this.parts.push(b);
    }
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: Json | undefined): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** openapi_v2.Any: the value as YAML text. */
const any = (v: Json): Message => new Message().string(2, JSON.stringify(v));

/** openapi_v2.NamedAny for each `x-` key, in the document's order. */
function extensions(m: Message, field: number, o: JsonObject): void {
  for (const [k, v] of Object.entries(o))
    if (k.startsWith('x-')) m.message(field, new Message().string(1, k).message(2, any(v)));
}

/** openapi_v2.Schema (field numbers from OpenAPIv2.proto). */
function schema(s: JsonObject): Message {
  const m = new Message()
    .string(1, str(s.$ref))
    .string(2, str(s.format))
    .string(3, str(s.title))
    .string(4, str(s.description));
  if (s.default !== undefined) m.message(5, any(s.default));
  m.double(6, num(s.multipleOf))
    .double(7, num(s.maximum))
    .bool(8, s.exclusiveMaximum === true)
    .double(9, num(s.minimum))
    .bool(10, s.exclusiveMinimum === true)
    .int64(11, num(s.maxLength))
    .int64(12, num(s.minLength))
    .string(13, str(s.pattern))
    .int64(14, num(s.maxItems))
    .int64(15, num(s.minItems))
    .bool(16, s.uniqueItems === true)
    .int64(17, num(s.maxProperties))
    .int64(18, num(s.minProperties));
  if (Array.isArray(s.required)) for (const r of s.required) m.string(19, str(r));
  if (Array.isArray(s.enum)) for (const e of s.enum) m.message(20, any(e));
  if (isObject(s.additionalProperties))
    m.message(21, new Message().message(1, schema(s.additionalProperties)));
  else if (typeof s.additionalProperties === 'boolean') {
    // The oneof's boolean member (field 2, varint) is written even when false: its presence says "no extra keys".
    m.bytes(21, Buffer.from([0x10, s.additionalProperties ? 1 : 0]));
  }
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  if (types.length) {
    const t = new Message();
    for (const x of types) t.string(1, str(x));
    m.message(22, t);
  }
  const items = Array.isArray(s.items) ? s.items : isObject(s.items) ? [s.items] : [];
  if (items.length) {
    const it = new Message();
    for (const x of items) if (isObject(x)) it.message(1, schema(x));
    m.message(23, it);
  }
  if (Array.isArray(s.allOf)) for (const x of s.allOf) if (isObject(x)) m.message(24, schema(x));
  if (isObject(s.properties)) m.message(25, named(s.properties));
  m.string(26, str(s.discriminator)).bool(27, s.readOnly === true);
  if (isObject(s.externalDocs))
    m.message(
      29,
      new Message().string(1, str(s.externalDocs.description)).string(2, str(s.externalDocs.url)),
    );
  if (s.example !== undefined) m.message(30, any(s.example));
  extensions(m, 31, s);
  return m;
}

/** Properties / Definitions: repeated NamedSchema in field 1. */
function named(o: JsonObject): Message {
  const m = new Message();
  for (const [name, s] of Object.entries(o))
    if (isObject(s)) m.message(1, new Message().string(1, name).message(2, schema(s)));
  return m;
}

/** The protobuf bytes of a Swagger 2.0 document. */
export function encodeOpenApiV2(doc: JsonObject): Buffer {
  const m = new Message().string(1, str(doc.swagger));
  if (isObject(doc.info)) {
    const info = new Message().string(1, str(doc.info.title)).string(2, str(doc.info.version));
    extensions(info, 7, doc.info);
    m.message(2, info);
  }
  if (isObject(doc.definitions)) m.message(9, named(doc.definitions));
  return m.done();
}

/** The Content-Type kube-openapi answers with: the '.' spelling, since Go's mime parser refuses the '@' one. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
