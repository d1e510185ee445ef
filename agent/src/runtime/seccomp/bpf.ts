/**
 * Compiles seccomp rules to a classic BPF program for the native helper (which only loads it). Linear: one
 * compare per syscall, conditional rules as small local blocks, so every jump stays short.
 */
import { DEFAULT_ERRNO, DEFAULT_RULES, type SeccompArch, type SeccompRule } from './profile.js';
import { SYSCALLS_AARCH64 } from './syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const AND_K = 0x54;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };
const X32_SYSCALL_BIT = 0x40000000;
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number): number => 16 + 8 * i; // little-endian: low word first
const argHi = (i: number): number => 20 + 8 * i;

interface Insn {
  code: number;
  k: number;
  jt: number | string;
  jf: number | string;
}

class Assembler {
  readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private n = 0;
  emit(code: number, k: number, jt: number | string = 0, jf: number | string = 0): void {
    this.insns.push({ code, k: k >>> 0, jt, jf });
  }
  label(name: string): void {
    this.labels.set(name, this.insns.length);
  }
  fresh(prefix: string): string {
    return `${prefix}${this.n++}`;
  }
  encode(): Buffer {
    const buf = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((ins, pc) => {
      const rel = (j: number | string): number => {
        if (typeof j === 'number') return j;
        const at = this.labels.get(j);
        if (at === undefined) throw new Error(`seccomp: unresolved label ${j}`);
        const off = at - pc - 1;
        if (off < 0 || off > 255) throw new Error(`seccomp: jump out of range (${off})`);
        return off;
      };
      buf.writeUInt16LE(ins.code, pc * 8);
      buf.writeUInt8(rel(ins.jt), pc * 8 + 2);
      buf.writeUInt8(rel(ins.jf), pc * 8 + 3);
      buf.writeUInt32LE(ins.k, pc * 8 + 4);
    });
    return buf;
  }
}

export function hostSeccompArch(): SeccompArch {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  throw new Error(`seccomp: unsupported architecture ${process.arch}`);
}

function applies(rule: SeccompRule, arch: SeccompArch, caps: ReadonlySet<string>): boolean {
  if (rule.arches && !rule.arches.includes(arch)) return false;
  if (rule.ifCaps && !rule.ifCaps.every((c) => caps.has(c))) return false;
  if (rule.unlessCaps && rule.unlessCaps.some((c) => caps.has(c))) return false;
  return true;
}

const cache = new Map<string, Buffer>();

/** The BPF program (struct sock_filter[], little-endian) for `caps` on `arch`; default-profile programs are
 *  memoized per capability set (every container of a daemon usually shares one). */
export function compileSeccomp(
  caps: readonly string[],
  arch: SeccompArch = hostSeccompArch(),
  rules: readonly SeccompRule[] = DEFAULT_RULES,
): Buffer {
  if (rules !== DEFAULT_RULES) return compile(caps, arch, rules);
  const key = `${arch}:${[...caps].sort().join(',')}`;
  let prog = cache.get(key);
  if (!prog) {
    prog = compile(caps, arch, rules);
    if (cache.size > 64) cache.clear();
    cache.set(key, prog);
  }
  return prog;
}

function compile(caps: readonly string[], arch: SeccompArch, rules: readonly SeccompRule[]): Buffer {
  const table = arch === 'x86_64' ? SYSCALLS_X86_64 : SYSCALLS_AARCH64;
  const capSet = new Set(caps);
  const a = new Assembler();
  const deny = RET_ERRNO | DEFAULT_ERRNO;
  a.emit(LD_W_ABS, OFF_ARCH);
  a.emit(JEQ_K, AUDIT_ARCH[arch], 1, 0);
  a.emit(RET_K, deny); // foreign ABIs (i386, arm32) are refused rather than guessed at
  a.emit(LD_W_ABS, OFF_NR);
  if (arch === 'x86_64') {
    a.emit(JGE_K, X32_SYSCALL_BIT, 0, 1);
    a.emit(RET_K, deny);
  }
  const seen = new Set<number>();
  for (const rule of rules) {
    if (!applies(rule, arch, capSet)) continue;
    const ret = rule.action === 'allow' ? RET_ALLOW : RET_ERRNO | rule.action.errno;
    for (const name of rule.names) {
      const nr = table[name];
      if (nr === undefined) continue;
      if (!rule.args) {
        if (seen.has(nr)) continue;
        seen.add(nr);
        a.emit(JEQ_K, nr, 0, 1);
        a.emit(RET_K, ret);
        continue;
      }
      const next = a.fresh('next');
      const reload = a.fresh('reload');
      a.emit(JEQ_K, nr, 0, next);
      for (const chk of rule.args) {
        if (chk.op === 'masked_eq') {
          a.emit(LD_W_ABS, argLo(chk.index));
          a.emit(AND_K, chk.mask ?? 0xffffffff);
          a.emit(JEQ_K, chk.value, 0, reload);
        } else if (chk.op === 'eq') {
          a.emit(LD_W_ABS, argLo(chk.index));
          a.emit(JEQ_K, chk.value, 0, reload);
          a.emit(LD_W_ABS, argHi(chk.index));
          a.emit(JEQ_K, 0, 0, reload);
        } else {
          const pass = a.fresh('pass');
          a.emit(LD_W_ABS, argLo(chk.index));
          a.emit(JEQ_K, chk.value, 0, pass);
          a.emit(LD_W_ABS, argHi(chk.index));
          a.emit(JEQ_K, 0, reload, pass);
          a.label(pass);
        }
      }
      a.emit(RET_K, ret);
      a.label(reload);
      a.emit(LD_W_ABS, OFF_NR);
      a.label(next);
    }
  }
  a.emit(RET_K, deny);
  return a.encode();
}
