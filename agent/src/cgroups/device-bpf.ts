/**
 * cgroup v2 has no devices controller: device access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE program
 * attached to the container's cgroup. This compiles Docker's allow-list into that eBPF program (the native
 * helper only loads and attaches it), so v2 hosts refuse the same device opens v1's devices.allow does.
 */
import type { DeviceRule } from './types.js';

// eBPF encoding: code u8, dst:4|src:4 u8, off s16, imm s32 (little-endian)
const LDX_MEM_W = 0x61;
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const JMP_JNE_K = 0x55;
const EXIT = 0x95;

const DEVCG_TYPE = { b: 1, c: 2 } as const;
const DEVCG_ACC = { m: 1, r: 2, w: 4 } as const;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** The program: allow (r0 = 1) when any rule matches the request in bpf_cgroup_dev_ctx, else deny. */
export function compileDeviceFilter(rules: readonly DeviceRule[]): Buffer {
  const prog: Insn[] = [];
  const emit = (code: number, dst: number, src: number, off: number, imm: number): void => {
    prog.push({ code, dst, src, off, imm });
  };
  // ctx: u32 access_type (access << 16 | type), u32 major, u32 minor
  emit(LDX_MEM_W, 2, 1, 0, 0);
  emit(ALU64_AND_K, 2, 0, 0, 0xffff); // r2 = type
  emit(LDX_MEM_W, 3, 1, 0, 0);
  emit(ALU64_RSH_K, 3, 0, 0, 16); // r3 = requested access
  emit(LDX_MEM_W, 4, 1, 4, 0); // r4 = major
  emit(LDX_MEM_W, 5, 1, 8, 0); // r5 = minor
  for (const r of rules) {
    const block: Insn[] = [];
    const jneNext: number[] = [];
    const add = (
      code: number,
      dst: number,
      src: number,
      off: number,
      imm: number,
      jumpsToNext = false,
    ): void => {
      if (jumpsToNext) jneNext.push(block.length);
      block.push({ code, dst, src, off, imm });
    };
    if (r.type !== 'a') add(JMP_JNE_K, 2, 0, 0, DEVCG_TYPE[r.type], true);
    const allowed = [...r.access].reduce((m, c) => m | (DEVCG_ACC[c as keyof typeof DEVCG_ACC] ?? 0), 0);
    if (r.type !== 'a' && allowed !== 7) {
      add(ALU64_MOV_X, 6, 3, 0, 0);
      add(ALU64_AND_K, 6, 0, 0, ~allowed & 7);
      add(JMP_JNE_K, 6, 0, 0, 0, true); // asks for more than the rule grants
    }
    if (r.type !== 'a' && r.major >= 0) add(JMP_JNE_K, 4, 0, 0, r.major, true);
    if (r.type !== 'a' && r.minor >= 0) add(JMP_JNE_K, 5, 0, 0, r.minor, true);
    add(ALU64_MOV_K, 0, 0, 0, 1);
    add(EXIT, 0, 0, 0, 0);
    for (const i of jneNext) block[i].off = block.length - i - 1; // to the first insn after this block
    prog.push(...block);
  }
  emit(ALU64_MOV_K, 0, 0, 0, 0);
  emit(EXIT, 0, 0, 0, 0);
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    buf.writeUInt8(ins.code, i * 8);
    buf.writeUInt8((ins.src << 4) | ins.dst, i * 8 + 1);
    buf.writeInt16LE(ins.off, i * 8 + 2);
    buf.writeInt32LE(ins.imm | 0, i * 8 + 4);
  });
  return buf;
}
