/**
 * Dockerfile text → logical lines ("nodes"): parser directives (`# escape=`), comments, line continuations,
 * leading flags (`--from=x`). Turning a node into a typed instruction is instructions.ts's job.
 */

export class DockerfileParseError extends Error {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    // dockerd's classic builder wording ("dockerfile parse error line N: ...").
    super(`dockerfile parse error line ${line}: ${detail}`);
    this.name = 'DockerfileParseError';
  }
}

export interface Node {
  /** lower-case instruction name */
  cmd: string;
  /** the instruction as written (upper/lower case kept) */
  cmdRaw: string;
  /** leading `--name=value` flags (a bare `--name` gets value undefined) */
  flags: { name: string; value: string | undefined }[];
  /** everything after the instruction and its flags, continuations joined */
  rest: string;
  /** the logical line as written, continuations joined (printed as "Step N/M : ...") */
  original: string;
  startLine: number;
  endLine: number;
  /** heredoc bodies (`<<EOF`) attached to this instruction, in order */
  heredocs: Heredoc[];
}

export interface Heredoc {
  name: string;
  content: string;
  /** `<<-EOF` strips leading tabs; quoted names (`<<"EOF"`) disable expansion */
  expand: boolean;
}

export interface ParsedDockerfile {
  escape: string;
  nodes: Node[];
  directives: Record<string, string>;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['escape', 'syntax', 'check']);
const HEREDOC_CMDS = new Set(['run', 'copy', 'add']);
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

function isComment(line: string): boolean {
  return /^[ \t]*#/.test(line);
}

function trimLeft(s: string): string {
  return s.replace(/^[ \t\f\v\r]+/, '');
}

/** Reads `--flag[=value]` words from the start of `args`; returns them and the remaining text. */
export function extractFlags(args: string): { flags: Node['flags']; rest: string } {
  const flags: Node['flags'] = [];
  let s = args;
  for (;;) {
    s = trimLeft(s);
    if (!s.startsWith('--')) break;
    // A flag word ends at unquoted whitespace.
    let i = 0;
    let quote = '';
    let word = '';
    for (; i < s.length; i++) {
      const ch = s[i];
      if (quote) {
        if (ch === quote) quote = '';
        else word += ch;
        continue;
      }
      if (ch === '"' || ch === "'") {
        quote = ch;
        continue;
      }
      if (/\s/.test(ch)) break;
      word += ch;
    }
    if (word === '--') {
      s = s.slice(i);
      break;
    }
    const body = word.slice(2);
    const eq = body.indexOf('=');
    flags.push(
      eq < 0 ? { name: body, value: undefined } : { name: body.slice(0, eq), value: body.slice(eq + 1) },
    );
    s = s.slice(i);
  }
  return { flags, rest: s.trim() };
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  // A trailing newline makes an empty last element that is not a line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let escape = '\\';
  const directives: Record<string, string> = {};
  let directivesDone = false;
  const nodes: Node[] = [];
  let i = 0;

  const directive = (raw: string, lineNo: number): void => {
    if (directivesDone) return;
    const m = DIRECTIVE.exec(raw);
    if (!m) {
      directivesDone = true;
      return;
    }
    const key = m[1].toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) {
      directivesDone = true;
      return;
    }
    if (key in directives)
      throw new DockerfileParseError(lineNo, `only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`')
        throw new DockerfileParseError(lineNo, `invalid escape token '${m[2]}' does not match \` or \\`);
      escape = m[2]!;
    }
  };
  const continuation = (): RegExp => new RegExp(`\\${escape}[ \\t]*$`);

  while (i < lines.length) {
    const raw = lines[i];
    const lineNo = ++i;
    directive(trimLeft(raw), lineNo);
    if (isComment(raw)) continue;
    let line = trimLeft(raw);
    if (line.trim() === '') continue;
    const cont = continuation();
    let ended = !cont.test(line);
    if (!ended) line = line.replace(cont, '');
    let endLine = lineNo;
    while (!ended && i < lines.length) {
      const next = lines[i];
      endLine = ++i;
      if (isComment(next)) continue;
      if (trimLeft(next).trim() === '') continue; // empty continuation line (a warning in dockerd)
      ended = !cont.test(next);
      line += ended ? next : next.replace(cont, '');
    }
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line.trim());
    if (!m) continue;
    const cmdRaw = m[1];
    const cmd = cmdRaw.toLowerCase();
    const { flags, rest } = extractFlags(m[2] ?? '');
    const node: Node = {
      cmd,
      cmdRaw,
      flags,
      rest,
      original: line.trim(),
      startLine: lineNo,
      endLine,
      heredocs: [],
    };
    // Heredocs: `RUN <<EOF ... EOF`; their bodies are the following lines up to the terminator.
    let effective = cmd;
    if (cmd === 'onbuild') effective = (/^(\S+)/.exec(rest)?.[1] ?? '').toLowerCase();
    if (HEREDOC_CMDS.has(effective) && !rest.trimStart().startsWith('[')) {
      for (const hm of rest.matchAll(HEREDOC)) {
        const strip = hm[1] === '-';
        const name = hm[3];
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i++];
          const cmp = strip ? l.replace(/^\t+/, '') : l;
          if (cmp === name) {
            closed = true;
            break;
          }
          body.push(strip ? l.replace(/^\t+/, '') : l);
        }
        if (!closed) throw new DockerfileParseError(lineNo, `unterminated heredoc ${name}`);
        node.endLine = i;
        node.heredocs.push({ name, content: body.join('\n') + '\n', expand: hm[2] === '' });
      }
    }
    nodes.push(node);
  }
  return { escape, nodes, directives };
}
