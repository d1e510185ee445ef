/**
 * `.dockerignore`: Docker's ignore-file reading and pattern matching (moby/patternmatcher): Go
 * filepath.Match syntax plus `**`, `!` exceptions evaluated in order, and a pattern matching a parent
 * directory excluding everything below it.
 */
import path from 'node:path';

export class IgnorePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IgnorePatternError';
  }
}

/** Reads a .dockerignore: comments, blank lines, `!`, leading `/` and `filepath.Clean`. */
export function readIgnoreFile(text: string): string[] {
  const out: string[] = [];
  for (let line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (line === '') continue;
    const invert = line.startsWith('!');
    if (invert) line = line.slice(1).trim();
    if (line.length > 0) {
      line = path.posix.normalize(line).replace(/\/+$/, '') || '/';
      if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
    }
    out.push(invert ? '!' + line : line);
  }
  return out;
}

interface Pattern {
  exclusion: boolean;
  re: RegExp;
}

const ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

function compile(pattern: string): RegExp {
  let re = '^';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        // `**` at the end matches everything; elsewhere any number of directories (even none).
        re += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ESCAPE.has(ch)) re += '\\' + ch;
    else if (ch === '\\') {
      if (i + 1 < chars.length) re += '\\' + chars[++i];
      else re += '\\\\';
    } else re += ch;
  }
  try {
    return new RegExp(re + '$', 's');
  } catch {
    throw new IgnorePatternError(`syntax error in pattern: ${pattern}`);
  }
}

export class IgnoreMatcher {
  private patterns: Pattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = [];
    for (let p of patterns) {
      const exclusion = p.startsWith('!');
      if (exclusion) {
        p = p.slice(1);
        if (p === '') throw new IgnorePatternError('illegal exclusion pattern: "!"');
      }
      p = path.posix.normalize(p);
      if (p === '.') continue; // "." would exclude the whole context; dockerd ignores it
      this.patterns.push({ exclusion, re: compile(p.replace(/\/+$/, '')) });
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when `file` (slash-separated, relative to the context) is excluded. */
  excludes(file: string): boolean {
    const parts = file.split('/');
    let matched = false;
    for (const p of this.patterns) {
      // An inclusion can only turn a match off, an exclusion only on.
      if (p.exclusion !== matched) continue;
      let m = p.re.test(file);
      for (let i = 1; !m && i < parts.length; i++) m = p.re.test(parts.slice(0, i).join('/'));
      if (m) matched = !p.exclusion;
    }
    return matched;
  }
}
