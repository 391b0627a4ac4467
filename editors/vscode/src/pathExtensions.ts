// Merging the shim directory into vscode-lean4's `lean4.envPathExtensions`
// (directories prepended, in order, to the PATH it starts `lake serve` with).
// The user's entries are never dropped or reordered, and ours never doubled.
import * as path from 'path';

/** Compares directories as the PATH lookup would see them (trailing separators ignored). */
export function sameDir(a: string, b: string): boolean {
  const norm = (p: string) => (p.length > 1 ? path.normalize(p).replace(/[\\/]+$/, '') : p);
  return norm(a) === norm(b);
}

export interface Merge {
  value: unknown[];
  changed: boolean;
  /** The stored value is not a list: left alone rather than overwritten. */
  malformed?: boolean;
}

function entriesOf(current: unknown): unknown[] | undefined {
  if (current === undefined || current === null) return [];
  return Array.isArray(current) ? [...current] : undefined;
}

/**
 * `current` is the user-level value as VS Code stores it: possibly undefined
 * or malformed. Our directory goes first so its `lake` shadows any other
 * `lake` the user's entries provide; if it is already listed anywhere, the
 * user's order is kept as it is.
 */
export function addPathExtension(current: unknown, dir: string): Merge {
  const entries = entriesOf(current);
  if (!entries) return { value: [], changed: false, malformed: true };
  if (entries.some(e => typeof e === 'string' && sameDir(e, dir))) return { value: entries, changed: false };
  return { value: [dir, ...entries], changed: true };
}

/** Removes every spelling of our directory, and nothing else. */
export function removePathExtension(current: unknown, dir: string): Merge {
  const entries = entriesOf(current);
  if (!entries) return { value: [], changed: false, malformed: true };
  const kept = entries.filter(e => !(typeof e === 'string' && sameDir(e, dir)));
  return { value: kept, changed: kept.length !== entries.length };
}

export function hasPathExtension(current: unknown, dir: string): boolean {
  return Array.isArray(current) && current.some(e => typeof e === 'string' && sameDir(e, dir));
}
